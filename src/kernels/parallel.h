// Matrix products split over the global thread pool: activations are prepared once (quantised for the
// integer kernels), then each thread computes a contiguous range of output columns (weight rows).
#pragma once

#include "kernels/kernels.h"

namespace slm::kernels {

// y: (n, w.rows) = x: (n, w.cols) @ w^T, the same contract as CpuKernels::matmul, on global_pool().
// Tables without matmul_rows fall back to k.matmul on the calling thread. Keeps one scratch buffer per
// calling thread (grown, never shrunk).
void matmul_parallel(const CpuKernels& k, const MatView& w, std::span<const float> x, int64_t n,
                     std::span<float> y);

// Several matrices applied to the same x (q/k/v, gate/up): y_i: (n, w_i.rows) = x @ w_i^T in one pool loop
// over the rows of all of them (many tokens: one loop per block of tokens), activations prepared once per
// (weight type, cols). A token's results are those of one matmul_parallel per matrix, bit for bit (the
// same kernel on the same rows).
struct MatmulOut {
  const MatView* w;
  std::span<float> y;
};
void matmul_parallel_fused(const CpuKernels& k, std::span<const MatmulOut> outs, std::span<const float> x,
                           int64_t n);

}  // namespace slm::kernels
