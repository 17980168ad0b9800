// The AMX table's routing, written once over a base table and a tile kernel: the AVX-512 table with the
// hardware's tiles (amx/table.cc), the AVX2 table with the emulated ones (amx_emu/, tests). Prefill
// (n >= kGemmMinTokens) of the types gemm_supports() takes goes to the tiles; F16 / BF16 rows are prepared
// as the tile kernel's BF16 pieces, so fewer tokens go to the base table's kernels reading x (null xa, as the
// table contract allows); the rest is the base's.
#pragma once

#include "kernels/cpu/amx/amx.h"
#include "kernels/kernels.h"

namespace slm::kernels::cpu::amx {

using GemmRowsFn = void (*)(const MatView&, const void*, int64_t, int64_t, int64_t, float*);
using PrepareFloatFn = void (*)(const float*, int64_t, int64_t, int64_t, void*);

template <const CpuKernels& (*Base)(), GemmRowsFn Gemm, PrepareFloatFn Prepare>
struct TableOver {
  static void matmul_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                          float* y) {
    if (n >= kGemmMinTokens && gemm_supports(w.type)) return Gemm(w, xa, n, r0, r1, y);
    Base().matmul_rows(w, x, float_pieces(w.type) ? nullptr : xa, n, r0, r1, y);
  }
  static size_t act_bytes(DType wtype, int64_t cols) {
    return float_pieces(wtype) ? float_act_bytes(cols) : Base().act_bytes(wtype, cols);
  }
  static void prepare_act(DType wtype, const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, void* dst) {
    if (float_pieces(wtype)) return Prepare(x, cols, t0, t1, dst);
    Base().prepare_act(wtype, x, n, cols, t0, t1, dst);
  }
  static CpuKernels make() {
    CpuKernels k = Base();
    k.isa = Isa::amx;
    k.matmul_rows = matmul_rows;
    k.act_bytes = act_bytes;
    k.prepare_act = prepare_act;
    return k;
  }
};

}  // namespace slm::kernels::cpu::amx
