// matmul_parallel: prepare activations (split by token rows when there are many), then split weight rows.
#include "kernels/parallel.h"

#include <vector>

#include "core/thread_pool.h"

namespace slm::kernels {

void matmul_parallel(const CpuKernels& k, const MatView& w, std::span<const float> x, int64_t n,
                     std::span<float> y) {
  if (!k.matmul_rows || n <= 0) return k.matmul(w, x, n, y);
  thread_local std::vector<uint8_t> scratch;
  const size_t row = k.act_bytes(w.type, w.cols);
  ThreadPool& pool = global_pool();
  if (row > 0) {
    if (scratch.size() < row * size_t(n)) scratch.resize(row * size_t(n));
    uint8_t* xa = scratch.data();
    const auto prep = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) k.prepare_act(w.type, x.data() + t * w.cols, w.cols, xa + size_t(t) * row);
    };
    if (n >= 16) {
      pool.for_range(n, 1, prep);
    } else {
      prep(0, n);
    }
  }
  const void* xa = row > 0 ? scratch.data() : nullptr;
  // Ranges aligned to 16 rows keep each thread's block of rows whole (the kernels block rows by 16).
  pool.for_range(w.rows, 16, [&](int64_t r0, int64_t r1) { k.matmul_rows(w, x.data(), xa, n, r0, r1, y.data()); });
}

}  // namespace slm::kernels
