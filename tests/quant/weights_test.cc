// Importance weights of a block (search.h): ones without an imatrix, imatrix[j] * sqrt(sigma2 + x[j]^2)
// with one, sigma2 = 2 * mean(x^2) over the block.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "quant/types/search.h"

namespace slm::quant::detail {
namespace {

TEST(BlockWeights, OnesWithoutAnImatrix) {
  const std::vector<float> x = {1, -2, 3, 0};
  std::vector<float> w(4, -1.0f);
  block_weights(nullptr, x.data(), 4, w.data());
  EXPECT_EQ(w, std::vector<float>(4, 1.0f));
}

TEST(BlockWeights, ImatrixTimesMagnitude) {
  const std::vector<float> x = {1, -2, 3, 0}, im = {0.5f, 2.0f, 1.0f, 4.0f};
  std::vector<float> w(4);
  block_weights(im.data(), x.data(), 4, w.data());
  const double sigma2 = 2.0 * (1 + 4 + 9 + 0) / 4;  // 7
  for (int j = 0; j < 4; ++j) {
    const double floor = (0.5 + 2 + 1 + 4) / 4 * 1e-6;  // row_weights' floor keeps every element in play
    EXPECT_NEAR(w[j], (im[j] + floor) * std::sqrt(sigma2 + double(x[j]) * x[j]), 1e-5) << j;
  }
  EXPECT_GT(w[3], 0.0f);  // a zero weight value still counts (sigma2 > 0)
}

TEST(BlockWeights, ZeroBlockAndBadImatrixValuesStayFinite) {
  const std::vector<float> x(8, 0.0f), im = {1, NAN, -1, INFINITY, 0, 1, 1, 1};
  std::vector<float> w(8);
  block_weights(im.data(), x.data(), 8, w.data());
  for (float v : w) EXPECT_TRUE(std::isfinite(v) && v >= 0.0f);
}

}  // namespace
}  // namespace slm::quant::detail
