// The AMX prefill kernel over the tile emulator (x86/tiles.h), compiled for AVX2 so that its tests run on
// any x86-64 machine the AVX2 table runs on; see cpu/amx/amx.h.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/f16.h"
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/amx/table_over.h"
#include "kernels/cpu/tables.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "kernels/cpu/x86/tiles.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::amx_emu {
namespace {

#include "kernels/cpu/x86/decoders.h"
#include "kernels/cpu/x86/amx_body.h"

}  // namespace

void gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  amx_gemm_rows<x86::EmuTiles>(w, xa, n, r0, r1, y);
}

void prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst) {
  amx_prepare_float_act(x, cols, t0, t1, dst);
}

const CpuKernels& table() {
  static const CpuKernels k = amx::TableOver<avx2::table, gemm_rows, prepare_float_act>::make();
  return k;
}

}  // namespace slm::kernels::cpu::amx_emu
