// Decode attention over runs of f16 cache rows (CpuKernels::dot_f16_rows, axpy_f16_rows) against float64
// sums: head sizes with and without a 16-lane tail, run lengths around the 4-row blocks, strided rows, groups
// of query heads around the 4-head blocks; and a head's bits the same alone as in any group.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/f16.h"
#include "core/rng.h"
#include "kernels/kernels.h"

namespace slm::kernels {
namespace {

std::vector<const CpuKernels*> tables_with_rows() {
  std::vector<const CpuKernels*> out;
  for (Isa isa : kIsas)
    if (const CpuKernels* k = cpu_kernels_for(isa); k && k->dot_f16_rows && k->axpy_f16_rows) out.push_back(k);
  return out;
}

TEST(AttnRows, ScoresAndValuesMatchFloat64) {
  const std::vector<const CpuKernels*> tables = tables_with_rows();
  if (tables.empty()) GTEST_SKIP() << "no kernel table on this CPU has the f16 row-run attention kernels";
  Rng rng(5);
  for (const CpuKernels* k : tables) {
    for (size_t d : {16, 45, 64, 80, 128}) {
      for (size_t n : {1, 3, 4, 5, 17}) {
        for (size_t g : {1, 3, 4, 7}) {
          const size_t stride = d + 7, cap = n + 2;  // rows of a wider cache row; score rows with slack
          const std::vector<float> raw = rng.normal(n * stride);
          std::vector<f16> rows(raw.size());
          for (size_t i = 0; i < raw.size(); ++i) rows[i] = f32_to_f16(raw[i]);
          const std::vector<float> q = rng.normal(g * d), p = rng.normal(g * cap), y0 = rng.normal(g * d);
          std::vector<float> scores(g * cap, std::nanf(""));
          k->dot_f16_rows(q.data(), g, d, rows.data(), stride, n, scores.data(), cap);
          std::vector<float> y = y0;
          k->axpy_f16_rows(p.data(), g, cap, n, rows.data(), stride, y.data(), d);
          const std::string where = std::string(isa_name(k->isa)) + " d=" + std::to_string(d) +
                                    " n=" + std::to_string(n) + " g=" + std::to_string(g);
          for (size_t h = 0; h < g; ++h) {
            for (size_t j = 0; j < n; ++j) {
              double want = 0, mag = 0;
              for (size_t i = 0; i < d; ++i) {
                const double t = double(q[h * d + i]) * double(f16_to_f32(rows[j * stride + i]));
                want += t, mag += std::fabs(t);
              }
              EXPECT_NEAR(scores[h * cap + j], want, 1e-6 * mag + 1e-30) << where << " h=" << h << " j=" << j;
            }
            for (size_t j = n; j < cap; ++j) EXPECT_TRUE(std::isnan(scores[h * cap + j])) << where << " wrote past n";
            for (size_t i = 0; i < d; ++i) {
              double want = y0[h * d + i], mag = std::fabs(y0[h * d + i]);
              for (size_t j = 0; j < n; ++j) {
                const double t = double(p[h * cap + j]) * double(f16_to_f32(rows[j * stride + i]));
                want += t, mag += std::fabs(t);
              }
              EXPECT_NEAR(y[h * d + i], want, 1e-6 * mag + 1e-30) << where << " h=" << h << " i=" << i;
            }
          }
        }
      }
    }
  }
}

// The decode step groups a kv head's query heads, or splits them when there are few sequences: either way
// each head must get the same bits as when computed on its own (batched decoding equals decoding alone).
TEST(AttnRows, AHeadGetsTheSameBitsAloneAndInAGroup) {
  const std::vector<const CpuKernels*> tables = tables_with_rows();
  if (tables.empty()) GTEST_SKIP() << "no kernel table on this CPU has the f16 row-run attention kernels";
  Rng rng(11);
  for (const CpuKernels* k : tables) {
    for (size_t d : {45, 64, 128}) {
      const size_t g = 7, n = 23, stride = 3 * d;
      const std::vector<float> raw = rng.normal(n * stride);
      std::vector<f16> rows(raw.size());
      for (size_t i = 0; i < raw.size(); ++i) rows[i] = f32_to_f16(raw[i]);
      const std::vector<float> q = rng.normal(g * d), p = rng.normal(g * n), y0 = rng.normal(g * d);
      std::vector<float> scores(g * n), y = y0;
      k->dot_f16_rows(q.data(), g, d, rows.data(), stride, n, scores.data(), n);
      k->axpy_f16_rows(p.data(), g, n, n, rows.data(), stride, y.data(), d);
      for (size_t h = 0; h < g; ++h) {
        std::vector<float> s1(n), y1(y0.begin() + std::ptrdiff_t(h * d), y0.begin() + std::ptrdiff_t((h + 1) * d));
        k->dot_f16_rows(q.data() + h * d, 1, d, rows.data(), stride, n, s1.data(), n);
        k->axpy_f16_rows(p.data() + h * n, 1, n, n, rows.data(), stride, y1.data(), d);
        for (size_t j = 0; j < n; ++j)
          EXPECT_EQ(f32_bits(s1[j]), f32_bits(scores[h * n + j])) << isa_name(k->isa) << " d=" << d << " h=" << h;
        for (size_t i = 0; i < d; ++i)
          EXPECT_EQ(f32_bits(y1[i]), f32_bits(y[h * d + i])) << isa_name(k->isa) << " d=" << d << " h=" << h;
        // a run split in two gives the same values (the cache's paged blocks split runs)
        std::vector<float> y2(y0.begin() + std::ptrdiff_t(h * d), y0.begin() + std::ptrdiff_t((h + 1) * d));
        k->axpy_f16_rows(p.data() + h * n, 1, n, 9, rows.data(), stride, y2.data(), d);
        k->axpy_f16_rows(p.data() + h * n + 9, 1, n, n - 9, rows.data() + 9 * stride, stride, y2.data(), d);
        for (size_t i = 0; i < d; ++i)
          EXPECT_EQ(f32_bits(y1[i]), f32_bits(y2[i])) << isa_name(k->isa) << " d=" << d << " split run, h=" << h;
      }
    }
  }
}

}  // namespace
}  // namespace slm::kernels
