// A fixed pool of worker threads for data-parallel loops. A loop is cut into tasks that threads claim
// from atomic counters, so the caller never waits for a worker that has not started (a shared or
// oversubscribed CPU descheduling one thread only slows its own task down); in for_range each thread
// starts on its own contiguous segment of the tasks (see Segment). Workers spin briefly on a
// generation counter between loops, then sleep on it (std::atomic wait): a decode step forks a few
// hundred times per token, each fork costs about a microsecond on idle cores.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
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

  // Calls fn(i) once for every i in [0, n_tasks), on any thread, and returns when all have finished. The
  // tasks start in index order from one shared counter (a list sorted largest first ends balanced). A call
  // made while the pool is busy (another thread's loop, or from inside fn) runs its tasks on the caller.
  template <class F>
  void parallel_for(int64_t n_tasks, F&& fn) {
    run(n_tasks, fn, false);
  }

  // Cuts [0, total) into ranges aligned to `align` (8 per thread: finer pieces balance the two threads of a
  // 16-row decode step better, SmolLM2 Q8_0 batch 16: 895 -> 958-1019 t/s) and calls fn(begin, end) for each.
  // min_pieces asks for more (a large matrix in pieces of bounded size, so that the last piece a thread
  // holds while the other waits stays short). Each thread takes the pieces of its own segment first.
  template <class F>
  void for_range(int64_t total, int64_t align, F&& fn, int64_t min_pieces = 0) {
    if (total <= 0) return;
    const int64_t units = (total + align - 1) / align;
    const int64_t pieces = std::min<int64_t>(units, n_threads_ == 1 ? 1 : std::max<int64_t>(8 * n_threads_, min_pieces));
    auto piece = [&](int64_t p) {
      const int64_t b = units * p / pieces * align, e = std::min(total, units * (p + 1) / pieces * align);
      if (b < e) fn(b, e);
    };
    run(pieces, piece, true);
  }

 private:
  using Task = void (*)(void* ctx, int64_t i);
  // segments: thread t starts on the t-th contiguous share of the tasks; else all claim in index order.
  void run_raw(Task task, void* ctx, int64_t n_tasks, bool segments);
  template <class F>
  void run(int64_t n_tasks, F& fn, bool segments) {
    run_raw([](void* ctx, int64_t i) { (*static_cast<F*>(ctx))(i); }, &fn, n_tasks, segments);
  }
  void claim_all(int self);
  void worker(int self);

  // Thread t (the caller is 0) first claims the tasks of segment t, in order, then those left in the
  // others' (for_range; parallel_for puts every task in segment 0). Each thread streams through one
  // contiguous part of a matrix, the same part every token while the threads keep pace, where one shared
  // counter dealt the pieces out alternately (decode tg128, interleaved A/B, 6 rounds: Qwen2.5-0.5B
  // Q4_0 / Q4_K_M ~ +10% / +12%, SmolLM2 Q8_0 +17%).
  struct alignas(64) Segment {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };

  int n_threads_;
  std::vector<std::thread> threads_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  std::unique_ptr<Segment[]> segs_;
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
