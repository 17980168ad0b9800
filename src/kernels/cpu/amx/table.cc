// The AMX table: the AVX-512 table with prefill (n >= kGemmMinTokens) of the integer types, F16 and BF16 on
// the tiles. Everything else, decode included, is the AVX-512 table's. dispatch.cc offers it only where the
// CPU has AMX-TILE + AMX-INT8 + AMX-BF16, Linux granted the tile data permission and self_check() passed.
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/tables.h"

namespace slm::kernels::cpu::amx {
namespace {

bool float_type(DType t) { return t == DType::F16 || t == DType::BF16; }

// F16 / BF16 rows are prepared as the tile kernel's BF16 pieces; fewer tokens than kGemmMinTokens then go to
// the AVX-512 kernels reading x (their prepared format is not there: null xa, as the table contract allows).
void matmul_rows_amx(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1,
                     float* y) {
  if (n >= kGemmMinTokens && gemm_supports(w.type)) return gemm_rows(w, xa, n, r0, r1, y);
  avx512::table().matmul_rows(w, x, float_type(w.type) ? nullptr : xa, n, r0, r1, y);
}

size_t act_bytes_amx(DType wtype, int64_t cols) {
  return float_type(wtype) ? float_act_bytes(cols) : avx512::table().act_bytes(wtype, cols);
}

void prepare_act_amx(DType wtype, const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, void* dst) {
  if (float_type(wtype)) return prepare_float_act(x, cols, t0, t1, dst);
  avx512::table().prepare_act(wtype, x, n, cols, t0, t1, dst);
}

CpuKernels make_table_amx() {
  CpuKernels k = avx512::table();
  k.isa = Isa::amx;
  k.matmul_rows = matmul_rows_amx;
  k.act_bytes = act_bytes_amx;
  k.prepare_act = prepare_act_amx;
  return k;
}

}  // namespace

const CpuKernels& table() {
  static const CpuKernels k = make_table_amx();
  return k;
}

}  // namespace slm::kernels::cpu::amx
