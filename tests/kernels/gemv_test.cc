// The decode path (1-3 tokens) of every table's matmul_rows against the scalar reference: row groups and
// their tails, odd block counts (a lone last block), row ranges that cut groups, extreme Q8_0 bytes, and
// rows outside the range left untouched.
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
using matmul_test::rows_product;
using matmul_test::split_isas;


double nmse(std::span<const float> want, std::span<const float> got) { return testing::nmse_vs(want, got); }


class GemvTest : public ::testing::TestWithParam<Isa> {
 protected:
  const CpuKernels& k() const { return *cpu_kernels_for(GetParam()); }
  Rng rng_{23};
};

TEST_P(GemvTest, DecodeShapesMatchReference) {
  for (DType t : {DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16, DType::F32}) {
    const int64_t bs = dtype_info(t).block_size;
    const double tol = float_type(t) ? 1e-10 : 2e-4;
    const int64_t cols_list[] = {bs == 1 ? 16 : bs, bs == 1 ? 45 : 7 * bs, bs == 1 ? 576 : 18 * bs};
    for (int64_t cols : cols_list) {
      // One error measure over every shape of this (type, cols): a single dot product can be near zero.
      std::vector<float> want_all, got_all;
      for (int64_t rows : {1, 4, 6, 11}) {
        const auto m = random_matrix(rng_, t, rows, cols);
        for (int64_t n : {1, 2, 3}) {
          const std::vector<float> x = rng_.normal(size_t(n * cols));
          std::vector<float> want(size_t(n * rows));
          reference::matmul(m.w, x, n, want);
          const std::vector<float> got = rows_product(k(), m.w, x, n, 0, rows);
          EXPECT_LT(nmse(want, got), float_type(t) ? tol : 1e-1)
              << quant::type_name(t) << " rows=" << rows << " cols=" << cols << " n=" << n;
          want_all.insert(want_all.end(), want.begin(), want.end());
          got_all.insert(got_all.end(), got.begin(), got.end());
        }
      }
      EXPECT_LT(nmse(want_all, got_all), tol) << quant::type_name(t) << " cols=" << cols;
    }
  }
}

TEST_P(GemvTest, RowRangeCutsGroupsAndLeavesTheRestAlone) {
  for (DType t : {DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::F16}) {
    const int64_t cols = dtype_info(t).block_size == 1 ? 100 : 96;
    const auto m = random_matrix(rng_, t, 13, cols);
    const std::vector<float> x = rng_.normal(size_t(2 * cols));
    std::vector<float> want(2 * 13);
    reference::matmul(m.w, x, 2, want);
    const std::vector<float> got = rows_product(k(), m.w, x, 2, 3, 10);
    std::vector<float> want_in, got_in;
    for (int64_t t2 = 0; t2 < 2; ++t2) {
      for (int64_t r = 0; r < 13; ++r) {
        const size_t i = size_t(t2 * 13 + r);
        if (r < 3 || r >= 10) {
          EXPECT_TRUE(std::isnan(got[i])) << quant::type_name(t) << " row " << r << " written outside the range";
        } else {
          want_in.push_back(want[i]);
          got_in.push_back(got[i]);
        }
      }
    }
    EXPECT_LT(nmse(want_in, got_in), 1e-3) << quant::type_name(t);
  }
}

TEST_P(GemvTest, Q8_0ExtremeBytes) {
  // -128 does not come out of the quantiser but is a valid byte in a file; the offset trick must hold.
  const int64_t rows = 5, cols = 96;
  auto m = random_matrix(rng_, DType::Q8_0, rows, cols);
  auto* blocks = reinterpret_cast<BlockQ8_0*>(m.bytes.data());
  for (int64_t b = 0; b < rows * cols / 32; ++b)
    for (int j = 0; j < 32; ++j) blocks[b].qs[j] = int8_t((b + j) % 3 == 0 ? -128 : (j % 2 ? 127 : -127));
  const std::vector<float> x = rng_.normal(size_t(cols));
  std::vector<float> want(static_cast<size_t>(rows));
  reference::matmul(m.w, x, 1, want);
  EXPECT_LT(nmse(want, rows_product(k(), m.w, x, 1, 0, rows)), 2e-4);
}

INSTANTIATE_TEST_SUITE_P(Isas, GemvTest, ::testing::ValuesIn(split_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GemvTest);

}  // namespace
}  // namespace slm::kernels
