// Decode attention over runs of f16 cache rows (CpuKernels::dot_f16_rows, axpy_f16_rows) against float64
// sums: head sizes with and without a 16-lane tail, run lengths around the 4-row blocks, strided rows.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/f16.h"
#include "core/rng.h"
#include "kernels/kernels.h"

namespace slm::kernels {
namespace {

std::vector<const CpuKernels*> tables_with_rows() {
  std::vector<const CpuKernels*> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (const CpuKernels* k = cpu_kernels_for(isa); k && k->dot_f16_rows && k->axpy_f16_rows) out.push_back(k);
  return out;
}

TEST(AttnRows, ScoresAndValuesMatchFloat64) {
  const std::vector<const CpuKernels*> tables = tables_with_rows();
  if (tables.empty()) GTEST_SKIP() << "no kernel table on this CPU has the f16 row-run attention kernels";
  Rng rng(5);
  for (const CpuKernels* k : tables) {
    for (size_t d : {16, 45, 64, 128}) {
      for (size_t n : {1, 3, 4, 5, 17}) {
        const size_t stride = d + 7;  // rows of a wider cache row (other heads around them)
        const std::vector<float> raw = rng.normal(n * stride);
        std::vector<f16> rows(raw.size());
        for (size_t i = 0; i < raw.size(); ++i) rows[i] = f32_to_f16(raw[i]);
        const std::vector<float> q = rng.normal(d), p = rng.normal(n), y0 = rng.normal(d);
        std::vector<float> scores(n, std::nanf(""));
        k->dot_f16_rows(q, rows.data(), stride, n, scores.data());
        std::vector<float> y = y0;
        k->axpy_f16_rows(p, rows.data(), stride, y);
        for (size_t j = 0; j < n; ++j) {
          double want = 0, mag = 0;
          for (size_t i = 0; i < d; ++i) {
            want += double(q[i]) * double(f16_to_f32(rows[j * stride + i]));
            mag += std::fabs(double(q[i]) * double(f16_to_f32(rows[j * stride + i])));
          }
          EXPECT_NEAR(scores[j], want, 1e-6 * mag + 1e-30) << isa_name(k->isa) << " d=" << d << " n=" << n << " j=" << j;
        }
        for (size_t i = 0; i < d; ++i) {
          double want = y0[i], mag = std::fabs(y0[i]);
          for (size_t j = 0; j < n; ++j) {
            want += double(p[j]) * double(f16_to_f32(rows[j * stride + i]));
            mag += std::fabs(double(p[j]) * double(f16_to_f32(rows[j * stride + i])));
          }
          EXPECT_NEAR(y[i], want, 1e-6 * mag + 1e-30) << isa_name(k->isa) << " d=" << d << " n=" << n << " i=" << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace slm::kernels
