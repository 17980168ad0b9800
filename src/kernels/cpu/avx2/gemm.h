// Matrix products for many tokens (prefill) on 256-bit registers: integer weight panels in "maddubs order"
// (and f32 panels for the float types) that every token streams past, the AVX2 counterpart of
// cpu/avx512/gemm.h: u8 x s8 pairs for the integer types whose weights stay within +-32 (so that two pairs
// of products add up in 16 bits without saturating), and with the sign moved onto signed activations for
// Q8_0 and IQ4_NL (+-128). Same contract as CpuKernels::matmul_rows; the table routes n >= kGemmMinTokens
// here.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::avx2 {

// Smallest token count worth a panel (decoding a panel costs about as much as a few tokens of products).
constexpr int64_t kGemmMinTokens = kPrefillMinTokens;

// The ActQ8 integer types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q4_K, Q5_K, Q6_K) and F32, F16, BF16.
bool gemm_supports(DType t);

// y[t * w.rows + r] for t < n, r0 <= r < r1: integer types from xa's n ActQ8 rows (exactly the 4-token dot
// tiles' integer sums, the float scaling in another order), float types from x (n, w.cols).
void gemm_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

}  // namespace slm::kernels::cpu::avx2
