// A fixed pool of worker threads for data-parallel loops with a low-overhead fork/join: workers spin
// briefly on a generation counter, then sleep on it (std::atomic wait), so a decode step that forks a
// few hundred times per token pays about a microsecond per fork on idle cores and nothing when idle.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace slm {

class ThreadPool {
 public:
  // n_threads counts the calling thread: ThreadPool(1) runs everything inline.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(tid, n) once on each of the n = size() threads (tid 0 is the caller) and returns when all
  // have finished. A call made while the pool is busy (from another thread, or from inside fn) runs
  // fn(0, 1) on the caller instead, so fn must handle any n.
  template <class F>
  void run(F&& fn) {
    run_raw([](void* ctx, int tid, int n) { (*static_cast<F*>(ctx))(tid, n); }, &fn);
  }

  // Splits [0, total) into size() contiguous ranges, aligned to `align`, and calls fn(begin, end) for each
  // non-empty one.
  template <class F>
  void for_range(int64_t total, int64_t align, F&& fn) {
    if (total <= 0) return;
    if (n_threads_ == 1 || total <= align) {
      fn(int64_t{0}, total);
      return;
    }
    run([&](int tid, int n) {
      const int64_t units = (total + align - 1) / align;
      const int64_t b = units * tid / n * align, e = std::min(total, units * (tid + 1) / n * align);
      if (b < e) fn(b, e);
    });
  }

 private:
  using Task = void (*)(void* ctx, int tid, int n);
  void run_raw(Task task, void* ctx);
  void worker(int tid);

  int n_threads_;
  std::vector<std::thread> threads_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{false};
};

// The process-wide pool the model's forward pass uses. Its size is set_threads(n), else the SLM_THREADS
// environment variable, else the number of hardware threads.
ThreadPool& global_pool();
// Replaces the global pool with one of n threads (n <= 0: the default). Not safe while a forward runs.
void set_threads(int n);
int default_threads();

}  // namespace slm
