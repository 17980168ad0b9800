// Weights repacked at load for the AVX-512 table (MatView::packed): kPackRows rows interleaved so that one
// contiguous stream feeds 16 row sums per instruction, with no horizontal sums and no per-call decoding.
// Same contract as CpuKernels::matmul_rows; the table routes every packed matrix here, any token count.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::avx512 {

// Q8_0, Q4_0, Q5_0, Q4_K, Q6_K (ActQ8 activations) and F16 (exact f32 products).
bool packed_supports(DType t);

// Writes packed_bytes(w) bytes of w's packed layout to dst (64-byte aligned is best, not required).
void pack(const MatView& w, uint8_t* dst);

// y[t * w.rows + r] for t < n, r0 <= r < r1, reading w.packed.
void packed_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

}  // namespace slm::kernels::cpu::avx512
