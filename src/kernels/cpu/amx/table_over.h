// The AMX table's routing, written once over a base table and a tile kernel: `Tiles::base()` (the AVX-512
// table on the hardware, the AVX2 table for the emulated one), `Tiles::gemm_rows` and
// `Tiles::prepare_float_act` with `Tiles::float_act_bytes` (cpu/amx/amx.h). Prefill (n >= kGemmMinTokens) of the types gemm_supports()
// takes goes to the tiles; F16 / BF16 rows are prepared as the tile kernel's BF16 pieces, so fewer tokens
// go to the base table's kernels reading x (null xa, as the table contract allows); the rest is the base's.
#pragma once

#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/kernels.h"

namespace slm::kernels::cpu::amx {

inline bool tile_float_type(DType t) { return t == DType::F16 || t == DType::BF16; }
// The types the tile kernels take (amx::gemm_supports): here inline, as the emulated table must not call
// into the AVX-512-compiled files.
inline bool tile_supports(DType t) { return x86::uses_act_q8(t) || tile_float_type(t); }

template <class Tiles>
struct TableOver {
  static void matmul_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                          float* y) {
    if (n >= kGemmMinTokens && tile_supports(w.type)) return Tiles::gemm_rows(w, xa, n, r0, r1, y);
    Tiles::base().matmul_rows(w, x, tile_float_type(w.type) ? nullptr : xa, n, r0, r1, y);
  }
  static size_t act_bytes(DType wtype, int64_t cols) {
    return tile_float_type(wtype) ? Tiles::float_act_bytes(cols) : Tiles::base().act_bytes(wtype, cols);
  }
  static void prepare_act(DType wtype, const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, void* dst) {
    if (tile_float_type(wtype)) return Tiles::prepare_float_act(x, cols, t0, t1, dst);
    Tiles::base().prepare_act(wtype, x, n, cols, t0, t1, dst);
  }
  static CpuKernels make() {
    CpuKernels k = Tiles::base();
    k.isa = Isa::amx;
    k.matmul_rows = matmul_rows;
    k.act_bytes = act_bytes;
    k.prepare_act = prepare_act;
    return k;
  }
};

}  // namespace slm::kernels::cpu::amx
