// The AVX-512 kernel table (F/BW/VL/DQ + VNNI: Ice Lake, Sapphire/Emerald Rapids, Zen 4 and later).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/f16.h"
#include "kernels/cpu/tables.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/reference/reference.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::avx512 {
namespace {

// AVX-512 VNNI (256-bit form, AVX512VL): one instruction, no intermediate saturation.
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

#include "kernels/cpu/x86/matmul_body.h"

}  // namespace

const CpuKernels& table() {
  static const CpuKernels k = make_table(Isa::avx512);
  return k;
}

}  // namespace slm::kernels::cpu::avx512
