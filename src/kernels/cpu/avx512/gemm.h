// Matrix products for many tokens (prefill) on 512-bit registers: weight panels in VNNI order that every
// token streams past. Same contract as CpuKernels::matmul_rows; the table routes n >= kGemmMinTokens here.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::avx512 {

// Smallest token count worth a panel (decoding a panel costs about as much as 4-8 tokens of products).
constexpr int64_t kGemmMinTokens = kPrefillMinTokens;

// The ActQ8 integer types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q4_K, Q5_K, Q6_K) and F32, F16, BF16.
bool gemm_supports(DType t);

// y[t * w.rows + r] for t < n, r0 <= r < r1: x (n, w.cols) floats, xa n ActQ8 rows for the integer types.
// Integer types: exactly the 4-token tiles' arithmetic up to float summation order; float types: f32 FMAs.
void gemm_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

}  // namespace slm::kernels::cpu::avx512
