// The AMX table: the AVX-512 table with the integer types' prefill (n >= kGemmMinTokens) on the tiles.
// Everything else, decode and the float types included, is the AVX-512 table's. dispatch.cc offers it only
// where the CPU has AMX-TILE + AMX-INT8, Linux granted the tile data permission and self_check() passed.
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/tables.h"

namespace slm::kernels::cpu::amx {
namespace {

void matmul_rows_amx(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                     float* y) {
  if (n >= kGemmMinTokens && gemm_supports(w.type)) return gemm_rows(w, xa, n, r0, r1, y);
  avx512::table().matmul_rows(w, x, xa, n, r0, r1, y);
}

CpuKernels make_table_amx() {
  CpuKernels k = avx512::table();
  k.isa = Isa::amx;
  k.matmul_rows = matmul_rows_amx;
  return k;
}

}  // namespace

const CpuKernels& table() {
  static const CpuKernels k = make_table_amx();
  return k;
}

}  // namespace slm::kernels::cpu::amx
