// ThreadPool: spin-then-sleep fork/join on one generation counter and one pending count.
#include "core/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SLM_CPU_RELAX() _mm_pause()
#else
#define SLM_CPU_RELAX() ((void)0)
#endif

namespace slm {
namespace {

// Spins before sleeping: long enough to cover the gap between two forks of one decode step (a few us),
// short enough not to burn a shared core for long.
constexpr int kSpin = 20000;

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  threads_.reserve(size_t(n_threads_ - 1));
  for (int t = 1; t < n_threads_; ++t) threads_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPool::run_raw(Task task, void* ctx) {
  // One fork at a time: a caller that finds the pool busy (another thread's forward) runs alone.
  if (n_threads_ == 1 || busy_.exchange(true, std::memory_order_acquire)) {
    task(ctx, 0, 1);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  task(ctx, 0, n_threads_);
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < kSpin) {
      SLM_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  busy_.store(false, std::memory_order_release);
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int i = 0; g == seen && i < kSpin; ++i) {
      SLM_CPU_RELAX();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    task_(ctx_, tid, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

int default_threads() {
  if (const char* env = std::getenv("SLM_THREADS"); env && *env) {
    const int n = std::atoi(env);
    if (n > 0) return std::min(n, 256);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {
std::mutex g_mu;
std::unique_ptr<ThreadPool> g_pool;
}  // namespace

ThreadPool& global_pool() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_threads());
  return *g_pool;
}

void set_threads(int n) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_pool = std::make_unique<ThreadPool>(n > 0 ? n : default_threads());
}

}  // namespace slm
