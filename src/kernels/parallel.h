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

}  // namespace slm::kernels
