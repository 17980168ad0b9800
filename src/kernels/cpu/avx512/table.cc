// The AVX-512 kernel table (F/BW/VL/DQ + VNNI: Ice Lake, Sapphire/Emerald Rapids, Zen 4 and later).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/f16.h"
#include "kernels/cpu/avx512/attn_rows.h"
#include "kernels/cpu/avx512/gemm.h"
#include "kernels/cpu/avx512/gemv.h"
#include "kernels/cpu/avx512/packed.h"
#include "kernels/cpu/packed_layout.h"
#include "kernels/cpu/tables.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "kernels/reference/reference.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::avx512 {
namespace {

// AVX-512 VNNI (256-bit form, AVX512VL): one instruction, no intermediate saturation.
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

#include "kernels/cpu/x86/matmul_body.h"

// Weights repacked at load go to packed.cc for any token count; otherwise decode (a few tokens) of the
// types gemv.cc has goes to the 512-bit matrix-vector kernels and prefill to the panel gemm.
void matmul_rows_512(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                     float* y) {
  if (w.packed && pack16_supports(w.type)) return packed_rows(w, x, xa, n, r0, r1, y);
  if (n <= kGemvMaxTokens && gemv_supports(w.type)) return gemv_rows(w, x, xa, n, r0, r1, y);
  if (n >= kGemmMinTokens && gemm_supports(w.type)) return gemm_rows(w, x, xa, n, r0, r1, y);  // prefill
  matmul_rows(w, x, xa, n, r0, r1, y);
}

// Packed F16 reads whole tiles of tokens interleaved (prepare_f16_tiles); other types as the AVX2 table.
size_t act_bytes_512(DType wtype, int64_t cols) {
  return wtype == DType::F16 ? size_t(cols) * sizeof(float) : act_bytes(wtype, cols);
}
void prepare_act_512(DType wtype, const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, void* dst) {
  if (wtype == DType::F16) return prepare_f16_tiles(x, n, cols, t0, t1, static_cast<float*>(dst));
  prepare_act(wtype, x, n, cols, t0, t1, dst);
}

CpuKernels make_table_512() {
  CpuKernels k = make_table(Isa::avx512);
  k.matmul_rows = matmul_rows_512;
  k.act_bytes = act_bytes_512;
  k.prepare_act = prepare_act_512;
  k.can_pack = pack16_supports;
  k.pack = pack16;
  k.to_f16 = to_f16;
  k.dot_f16_rows = dot_f16_rows;
  k.axpy_f16_rows = axpy_f16_rows;
  return k;
}

}  // namespace

const CpuKernels& table() {
  static const CpuKernels k = make_table_512();
  return k;
}

}  // namespace slm::kernels::cpu::avx512
