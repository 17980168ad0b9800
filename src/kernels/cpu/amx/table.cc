// The AMX table: the AVX-512 table with prefill (n >= kGemmMinTokens) of the integer types, F16 and BF16 on
// the tiles (routing in table_over.h). dispatch.cc offers it only where the CPU has AMX-TILE + AMX-INT8 +
// AMX-BF16, Linux granted the tile data permission and self_check() passed.
#include "kernels/cpu/amx/table_over.h"
#include "kernels/cpu/tables.h"

namespace slm::kernels::cpu::amx {
namespace {

struct HwKernels {
  static const CpuKernels& base() { return avx512::table(); }
  static void gemm_rows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
    amx::gemm_rows(w, xa, n, r0, r1, y);
  }
  static void prepare_float_act(const float* x, int64_t cols, int64_t t0, int64_t t1, void* dst) {
    amx::prepare_float_act(x, cols, t0, t1, dst);
  }
  static size_t float_act_bytes(int64_t cols) { return amx::float_act_bytes(cols); }
};

}  // namespace

const CpuKernels& table() {
  static const CpuKernels k = TableOver<HwKernels>::make();
  return k;
}

}  // namespace slm::kernels::cpu::amx
