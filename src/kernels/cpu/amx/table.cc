// The AMX table: the AVX-512 table with prefill (n >= kGemmMinTokens) of the integer types, F16 and BF16 on
// the tiles (routing in table_over.h). dispatch.cc offers it only where the CPU has AMX-TILE + AMX-INT8 +
// AMX-BF16, Linux granted the tile data permission and self_check() passed.
#include "kernels/cpu/amx/table_over.h"
#include "kernels/cpu/tables.h"

namespace slm::kernels::cpu::amx {

const CpuKernels& table() {
  static const CpuKernels k = TableOver<avx512::table, gemm_rows, prepare_float_act>::make();
  return k;
}

}  // namespace slm::kernels::cpu::amx
