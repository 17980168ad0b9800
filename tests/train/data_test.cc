// The data loader: loss masks for prompt/completion, text records, bad records reported with file:line.
#include <gtest/gtest.h>

#include <algorithm>

#include "train/data.h"

namespace slm::train {
namespace {

TEST(Data, EpochOrderIsASeededPermutation) {
  const auto a = epoch_order(10, 1, 0), b = epoch_order(10, 1, 0), c = epoch_order(10, 1, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto s = a;
  std::sort(s.begin(), s.end());
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i], i);
}

TEST(Data, MakeSequenceShiftsTargetsAndWeights) {
  const Sequence s = make_sequence({5, 6, 7, 8}, {0, 0, 1, 1});
  EXPECT_EQ(s.tokens, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(s.targets, (std::vector<int32_t>{6, 7, 8}));
  EXPECT_EQ(s.weights, (std::vector<float>{0, 1, 1}));
}

}  // namespace
}  // namespace slm::train
