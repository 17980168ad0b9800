// The hashed n-gram baseline learns a separable toy task and rejects bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/baseline.h"

namespace slm::eval {
namespace {

TEST(Baseline, LearnsSeparableTask) {
  const std::vector<std::string> spam = {"buy cheap pills now", "cheap offer buy now", "win money now click",
                                         "click to win cheap money", "limited offer buy pills"};
  const std::vector<std::string> ham = {"meeting agenda for monday", "project notes attached", "lunch on monday?",
                                        "the agenda for the project meeting", "notes from lunch meeting"};
  std::vector<std::string> texts;
  std::vector<int> labels;
  for (const auto& s : spam) texts.push_back(s), labels.push_back(0);
  for (const auto& s : ham) texts.push_back(s), labels.push_back(1);
  const auto m = LogisticBaseline::train(texts, labels, 2);
  EXPECT_EQ(m.predict("buy pills, cheap!"), 0);
  EXPECT_EQ(m.predict("monday project agenda"), 1);
  const auto p = m.predict_proba("something else entirely");
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-9);
  const SparseVec v = hashed_features("Hello hello world", 18);
  double n2 = 0;
  for (float x : v.val) n2 += double(x) * x;
  EXPECT_NEAR(n2, 1.0, 1e-5);
  EXPECT_THROW(LogisticBaseline::train({}, {}, 2), Error);
  EXPECT_THROW(LogisticBaseline::train({"a"}, {2}, 2), Error);
  EXPECT_THROW(LogisticBaseline::train({"a"}, {0}, 2, {.hash_bits = 40}), Error);
}

}  // namespace
}  // namespace slm::eval
