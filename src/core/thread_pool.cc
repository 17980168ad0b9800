// ThreadPool: tasks claimed from per-thread segments, each an atomic counter; a loop is open while its
// caller still claims, and the caller returns once it has closed the loop and no worker is inside it.
#include "core/thread_pool.h"

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

// Pauses before a worker sleeps: covers the gap between two loops of one decode step (a few us on an
// idle core) without burning a shared core for long.
constexpr int kSpin = 2000;

}  // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(std::max(1, n_threads)), segs_(std::make_unique<Segment[]>(size_t(n_threads_))) {
  threads_.reserve(size_t(n_threads_ - 1));
  for (int t = 1; t < n_threads_; ++t) threads_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPool::claim_all(int self) {
  for (int j = 0; j < n_threads_; ++j) {
    Segment& s = segs_[size_t((self + j) % n_threads_)];
    for (int64_t i = s.next.fetch_add(1); i < s.end; i = s.next.fetch_add(1)) task_(ctx_, i);
  }
}

void ThreadPool::run_raw(Task task, void* ctx, int64_t n_tasks, bool segments) {
  if (n_threads_ == 1 || n_tasks <= 1 || busy_.exchange(true, std::memory_order_acquire)) {
    for (int64_t i = 0; i < n_tasks; ++i) task(ctx, i);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  const int parts = segments ? n_threads_ : 1;  // parallel_for: every task in segment 0, the rest empty
  for (int t = 0; t < n_threads_; ++t) {
    segs_[size_t(t)].next.store(n_tasks * std::min(t, parts) / parts, std::memory_order_relaxed);
    segs_[size_t(t)].end = n_tasks * std::min(t + 1, parts) / parts;
  }
  open_.store(true);  // seq_cst: a worker that sees the loop open sees the fields above
  generation_.fetch_add(1);
  generation_.notify_all();
  claim_all(0);
  open_.store(false);
  for (int i = 0; active_.load() != 0; ++i) {  // only workers inside a claimed task remain
    if (i < kSpin) {
      SLM_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  busy_.store(false, std::memory_order_release);
}

void ThreadPool::worker(int self) {
  uint64_t seen = 0;  // the generation at construction: a stop or loop posted before this thread started still counts
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int i = 0; g == seen && i < kSpin; ++i) {
      SLM_CPU_RELAX();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      generation_.wait(seen);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    active_.fetch_add(1);  // seq_cst with open_: either the caller waits for us or we see the loop closed
    if (open_.load()) claim_all(self);
    active_.fetch_sub(1);
  }
}

int default_threads() {
  if (const char* env = std::getenv("SLM_THREADS"); env && *env) {
    const int n = std::atoi(env);
    if (n > 0) return std::min(n, 256);
  }
  return std::max(1, int(std::thread::hardware_concurrency()));
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
