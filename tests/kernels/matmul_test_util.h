// Shared pieces of the matmul kernel tests: the ISA tables with a split matmul, random weight matrices
// in any type, and activations prepared the way matmul_parallel prepares them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "quant/quant.h"

namespace slm::kernels::matmul_test {

// Every compiled ISA whose table has prepare_act + matmul_rows.
inline std::vector<Isa> split_isas() {
  std::vector<Isa> out;
  for (Isa isa : kIsas)
    if (const CpuKernels* k = cpu_kernels_for(isa); k && k->matmul_rows) out.push_back(isa);
  return out;
}

inline bool float_type(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// A rows x cols matrix of N(0, 1) values stored in type t; w points into bytes (keep them together; a
// moved RandomMatrix keeps its buffer).
struct RandomMatrix {
  std::vector<uint8_t> bytes, packed;
  MatView w;
};

inline RandomMatrix random_matrix(Rng& rng, DType t, int64_t rows, int64_t cols) {
  const std::vector<float> f = rng.normal(size_t(rows * cols));
  RandomMatrix m;
  m.bytes.resize(row_bytes(t, cols) * size_t(rows));
  quant::quantize(t, f.data(), m.bytes.data(), rows, cols);
  m.w = MatView{t, m.bytes.data(), rows, cols, row_bytes(t, cols)};
  return m;
}

// m.w also in k's packed layout (MatView::packed), as Model::load repacks it; a no-op where k has none for
// m's type.
inline void pack_matrix(const CpuKernels& k, RandomMatrix& m) {
  if (!k.pack || !k.can_pack || !k.can_pack(m.w.type)) return;
  m.packed.resize(packed_bytes(m.w));
  k.pack(m.w, m.packed.data());
  m.w.packed = m.packed.data();
}

// n rows of x (n x w.cols floats) prepared for w's type by k.prepare_act, k.act_bytes(...) bytes apart.
inline std::vector<uint8_t> prepared_acts(const CpuKernels& k, const MatView& w, const float* x, int64_t n) {
  const size_t row = k.act_bytes(w.type, w.cols);
  std::vector<uint8_t> xa(std::max<size_t>(1, row * size_t(n)));
  k.prepare_act(w.type, x, n, w.cols, 0, n, xa.data());
  return xa;
}

// Rows [r0, r1) of y = x w^T through prepare_act + matmul_rows; other entries stay NaN.
inline std::vector<float> rows_product(const CpuKernels& k, const MatView& w, const std::vector<float>& x,
                                       int64_t n, int64_t r0, int64_t r1) {
  const std::vector<uint8_t> xa = prepared_acts(k, w, x.data(), n);
  std::vector<float> y(size_t(n * w.rows), std::nanf(""));
  k.matmul_rows(w, x.data(), xa.data(), n, r0, r1, y.data());
  return y;
}

}  // namespace slm::kernels::matmul_test
