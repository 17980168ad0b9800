// Prefill-sized matmul_rows (n >= 16 tokens, the panel kernels where a table has them) of every compiled
// ISA against the scalar reference and against the same table fed a few tokens at a time (the decode
// kernels, with the same quantised activations): odd row counts, row ranges, column segments and tails.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/nmse.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/reference/reference.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace slm::kernels {
namespace {

using matmul_test::float_type;
using matmul_test::prepared_acts;
using matmul_test::random_matrix;
using matmul_test::RandomMatrix;
using matmul_test::split_isas;

double nmse(std::span<const float> want, std::span<const float> got) { return testing::nmse_vs(want, got); }

// matmul_rows over row pieces of `piece` rows and token groups of `tokens` tokens.
std::vector<float> product(const CpuKernels& k, const MatView& w, const std::vector<float>& x, int64_t n,
                           int64_t piece, int64_t tokens) {
  const size_t row = k.act_bytes(w.type, w.cols);
  const std::vector<uint8_t> xa = prepared_acts(k, w, x.data(), n);
  std::vector<float> y(size_t(n * w.rows), std::nanf(""));
  std::vector<float> part;
  for (int64_t t0 = 0; t0 < n; t0 += tokens) {
    const int64_t nt = std::min(tokens, n - t0);
    part.assign(size_t(nt * w.rows), std::nanf(""));
    for (int64_t r0 = 0; r0 < w.rows; r0 += piece)
      k.matmul_rows(w, x.data() + t0 * w.cols, xa.data() + size_t(t0) * row, nt, r0, std::min(w.rows, r0 + piece),
                    part.data());
    std::copy(part.begin(), part.end(), y.begin() + t0 * w.rows);
  }
  return y;
}

class GemmTest : public ::testing::TestWithParam<Isa> {
 protected:
  const CpuKernels& k() const { return *cpu_kernels_for(GetParam()); }
  Rng rng_{23};
};

TEST_P(GemmTest, ManyTokensMatchReferenceAndFewTokens) {
  for (uint32_t id = 0; id < 64; ++id) {
    const auto info = dtype_info(id);
    if (!info || !quant::can_dequantize(info->type) || !quant::can_quantize(info->type)) continue;
    if (info->type == DType::Q8_1 || info->type == DType::Q8_K) continue;  // activation formats
    const int64_t bs = info->block_size;
    const double tol = float_type(info->type) ? 1e-10 : 2e-4;
    // One block, a few blocks, and more than one panel segment (2048 integer columns; float: 256 on AVX-512,
    // 2048 on AVX2), with columns past the last whole 8 for the float panels' transposed fill.
    const int64_t col_sizes[] = {bs == 1 ? 7 : bs, bs == 1 ? 300 : 3 * bs, bs == 1 ? 2055 : (bs == 32 ? 67 : 9) * bs};
    for (int64_t cols : col_sizes) {
      for (int64_t rows : {int64_t(37), int64_t(16)}) {
        const auto m = random_matrix(rng_, info->type, rows, cols);
        for (int64_t n : {16, 17, 19, 20, 64, 129}) {  // every tail of tiles of 4 and 6
          if (cols > 1024 && n > 17) continue;  // the long rows only need the tile tails
          const std::vector<float> x = rng_.normal(size_t(n * cols));
          std::vector<float> want(size_t(n * rows));
          reference::matmul(m.w, x, n, want);
          const std::vector<float> few = product(k(), m.w, x, n, rows, 3);
          for (int64_t piece : {int64_t(5), int64_t(16), rows}) {
            const std::vector<float> got = product(k(), m.w, x, n, piece, n);
            const std::string what = std::string(info->name) + " rows=" + std::to_string(rows) +
                                     " cols=" + std::to_string(cols) + " n=" + std::to_string(n) +
                                     " piece=" + std::to_string(piece);
            EXPECT_LT(nmse(want, got), tol) << what;
            // Same activations, same integer products: only the float summation order may differ.
            EXPECT_LT(nmse(few, got), 1e-10) << what;
          }
        }
      }
    }
  }
}

TEST_P(GemmTest, ZeroTokensStayZeroAmongLargeOnes) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::Q5_0, DType::F16}) {
    const auto m = random_matrix(rng_, t, 40, 256);
    std::vector<float> x = rng_.normal(size_t(20 * 256));
    std::fill(x.begin() + 3 * 256, x.begin() + 4 * 256, 0.0f);  // token 3 all zero
    for (size_t i = 0; i < x.size(); ++i) x[i] *= (i % 7 == 0) ? 1e4f : 1.0f;
    std::vector<float> want(20 * 40);
    reference::matmul(m.w, x, 20, want);
    const std::vector<float> got = product(k(), m.w, x, 20, 40, 20);
    for (size_t r = 0; r < 40; ++r) EXPECT_EQ(got[3 * 40 + r], 0.0f) << quant::type_name(t);
    EXPECT_LT(nmse(want, got), float_type(t) ? 1e-10 : 2e-4) << quant::type_name(t);
  }
}

// Every weight at the end of its range against activations at +-127 (unsigned 255 or 1 in the AVX2 panels'
// 16-bit pair sums): the largest integer sums each kernel can meet. Q6_K at -32 and at +31.
TEST_P(GemmTest, ExtremeWeightsAndActivationsDoNotSaturate) {
  struct Case {
    DType t;
    uint8_t fill;  // every quant byte (qs / ql, and qh)
  };
  for (const Case c : {Case{DType::Q4_0, 0xFF}, Case{DType::Q4_1, 0xFF}, Case{DType::Q5_0, 0xFF},
                       Case{DType::Q5_1, 0xFF}, Case{DType::Q4_K, 0xFF}, Case{DType::Q5_K, 0xFF},
                       Case{DType::Q6_K, 0x00}, Case{DType::Q6_K, 0xFF},
                       Case{DType::Q8_0, 0x7F}, Case{DType::Q8_0, 0x81}, Case{DType::Q8_0, 0x80}}) {
    // 130 tokens: past every table's panel threshold.
    const int64_t rows = 19, cols = 512, n = 130;
    RandomMatrix m = random_matrix(rng_, c.t, rows, cols);
    uint8_t* b = m.bytes.data();
    const size_t nblk = m.bytes.size() / dtype_info(c.t).block_bytes;
    for (size_t i = 0; i < nblk; ++i) {
      switch (c.t) {
        case DType::Q4_0: std::memset(reinterpret_cast<BlockQ4_0*>(b)[i].qs, c.fill, 16); break;
        case DType::Q4_1: std::memset(reinterpret_cast<BlockQ4_1*>(b)[i].qs, c.fill, 16); break;
        case DType::Q5_0: {
          auto& x = reinterpret_cast<BlockQ5_0*>(b)[i];
          std::memset(x.qs, c.fill, 16), std::memset(x.qh, c.fill, 4);
          break;
        }
        case DType::Q5_1: {
          auto& x = reinterpret_cast<BlockQ5_1*>(b)[i];
          std::memset(x.qs, c.fill, 16), std::memset(x.qh, c.fill, 4);
          break;
        }
        case DType::Q4_K: {
          auto& x = reinterpret_cast<BlockQ4_K*>(b)[i];
          std::memset(x.qs, c.fill, sizeof x.qs), std::memset(x.scales, 0xFF, sizeof x.scales);
          break;
        }
        case DType::Q5_K: {
          auto& x = reinterpret_cast<BlockQ5_K*>(b)[i];
          std::memset(x.qs, c.fill, sizeof x.qs), std::memset(x.qh, c.fill, sizeof x.qh);
          std::memset(x.scales, 0xFF, sizeof x.scales);
          break;
        }
        case DType::Q6_K: {
          auto& x = reinterpret_cast<BlockQ6_K*>(b)[i];
          std::memset(x.ql, c.fill, sizeof x.ql), std::memset(x.qh, c.fill, sizeof x.qh);
          for (int8_t& sc : x.scales) sc = int8_t(i % 2 ? -128 : 127);
          break;
        }
        default: std::memset(reinterpret_cast<BlockQ8_0*>(b)[i].qs, c.fill, 32); break;
      }
    }
    for (float sign : {1.0f, -1.0f}) {
      std::vector<float> x(size_t(n * cols), sign);  // every block's activations at +-127
      for (int64_t t = 1; t < n; t += 2)
        for (int64_t j = 0; j < cols; ++j) x[size_t(t * cols + j)] = (j / 32) % 2 ? -sign : sign;
      std::vector<float> want(size_t(n * rows));
      reference::matmul(m.w, x, n, want);
      const std::vector<float> got = product(k(), m.w, x, n, rows, n);
      const std::vector<float> few = product(k(), m.w, x, n, rows, 3);
      const std::string what = std::string(quant::type_name(c.t)) + " fill " + std::to_string(c.fill) + " sign " +
                               std::to_string(sign);
      EXPECT_LT(nmse(want, got), 2e-4) << what;
      EXPECT_LT(nmse(few, got), 1e-10) << what;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, GemmTest, ::testing::ValuesIn(split_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GemmTest);

}  // namespace
}  // namespace slm::kernels
