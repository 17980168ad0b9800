// Matrix-vector products (a few tokens) on 512-bit registers: the decode path of the AVX-512 table.
// Same contract as CpuKernels::matmul_rows; the table routes small n of the types below here.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace slm::kernels::cpu::avx512 {

// Largest token count the gemv kernels take (each further token re-reads the row from L1).
constexpr int64_t kGemvMaxTokens = 3;

// Q4_0, Q5_0, Q8_0, Q4_K, Q6_K (ActQ8 activations). F16/F32 stay on the 256-bit tiles of matmul_body.h:
// a 512-bit F16 row kernel measured slower in the model (SmolLM2 F16 tg128, one thread, 43 vs 57-72 t/s).
bool gemv_supports(DType t);

// y[t * w.rows + r] for t < n, r0 <= r < r1: x (n, w.cols) floats, xa n ActQ8 rows for the integer types.
void gemv_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y);

}  // namespace slm::kernels::cpu::avx512
