// The AVX2 + FMA + F16C kernel table (Haswell and later). Compiled with -mavx2 -mfma -mf16c only.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/f16.h"
#include "kernels/cpu/avx2/attn_rows.h"
#include "kernels/cpu/avx2/gemm.h"
#include "kernels/cpu/avx2/packed.h"
#include "kernels/cpu/packed_layout.h"
#include "kernels/cpu/tables.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "kernels/reference/reference.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::avx2 {
namespace {

// AVX2 has no u8 x s8 dot with 32-bit accumulation: maddubs (pairs, saturating 16-bit; our operands
// stay below the saturation bound: |q| <= 128, |qa| <= 127, sums of two) then madd against ones.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

#include "kernels/cpu/x86/matmul_body.h"

// Decode (fewer than kGemmMinTokens tokens) of weights repacked at load goes to packed.cc, prefill to the
// panel gemm (the stored layout); the rest as the shared x86 body.
void matmul_rows_256(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                     float* y) {
  if (n < kGemmMinTokens && w.packed && pack16_supports(w.type)) return packed_rows(w, x, xa, n, r0, r1, y);
  if (n >= kGemmMinTokens && gemm_supports(w.type)) return gemm_rows(w, x, xa, n, r0, r1, y);
  matmul_rows(w, x, xa, n, r0, r1, y);
}

CpuKernels make_table_256() {
  CpuKernels k = make_table(Isa::avx2);
  k.matmul_rows = matmul_rows_256;
  k.can_pack = pack16_supports;
  k.pack = pack16;
  k.dot_f16_rows = dot_f16_rows;
  k.axpy_f16_rows = axpy_f16_rows;
  return k;
}

}  // namespace

const CpuKernels& table() {
  static const CpuKernels k = make_table_256();
  return k;
}

}  // namespace slm::kernels::cpu::avx2
