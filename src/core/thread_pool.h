// A fixed pool of worker threads for data-parallel loops. A loop is cut into tasks that threads claim
// from one atomic counter, so the caller never waits for a worker that has not started (a shared or
// oversubscribed CPU descheduling one thread only slows its own task down). Workers spin briefly on a
// generation counter between loops, then sleep on it (std::atomic wait): a decode step forks a few
// hundred times per token, each fork costs about a microsecond on idle cores.
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

  // Calls fn(i) once for every i in [0, n_tasks), on any thread in any order, and returns when all have
  // finished. A call made while the pool is busy (another thread's loop, or from inside fn) runs its
  // tasks on the caller.
  template <class F>
  void parallel_for(int64_t n_tasks, F&& fn) {
    run_raw([](void* ctx, int64_t i) { (*static_cast<F*>(ctx))(i); }, &fn, n_tasks);
  }

  // Cuts [0, total) into ranges aligned to `align` (8 per thread: finer pieces balance the two threads of a
  // 16-row decode step better, SmolLM2 Q8_0 batch 16: 895 -> 958-1019 t/s) and calls fn(begin, end) for each.
  // min_pieces asks for more (a large matrix in pieces of bounded size, so that the last piece a thread
  // holds while the other waits stays short).
  template <class F>
  void for_range(int64_t total, int64_t align, F&& fn, int64_t min_pieces = 0) {
    if (total <= 0) return;
    const int64_t units = (total + align - 1) / align;
    const int64_t pieces = std::min<int64_t>(units, n_threads_ == 1 ? 1 : std::max<int64_t>(8 * n_threads_, min_pieces));
    parallel_for(pieces, [&](int64_t p) {
      const int64_t b = units * p / pieces * align, e = std::min(total, units * (p + 1) / pieces * align);
      if (b < e) fn(b, e);
    });
  }

 private:
  using Task = void (*)(void* ctx, int64_t i);
  void run_raw(Task task, void* ctx, int64_t n_tasks);
  void claim_all();
  void worker();

  int n_threads_;
  std::vector<std::thread> threads_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{0};
  std::atomic<bool> open_{false};
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
