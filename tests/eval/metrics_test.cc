// Every metric against values computed by hand (the arithmetic is in the comments).
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/candidate.h"
#include "eval/metrics.h"

namespace slm::eval {
namespace {

TEST(Metrics, ClassificationByHand) {
  // truth a a b b c c, pred a b b b c a. Confusion rows (true) a: [1 1 0], b: [0 2 0], c: [1 0 1].
  const auto m = classification_metrics({"a", "b", "c"}, {0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0});
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_EQ(m.confusion[0], (std::vector<size_t>{1, 1, 0, 0}));
  EXPECT_EQ(m.confusion[1], (std::vector<size_t>{0, 2, 0, 0}));
  EXPECT_EQ(m.confusion[2], (std::vector<size_t>{1, 0, 1, 0}));
  // a: P 1/2 R 1/2 F1 1/2; b: P 2/3 R 1 F1 0.8; c: P 1 R 1/2 F1 2/3.
  EXPECT_DOUBLE_EQ(m.per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[0].recall, 0.5);
  EXPECT_NEAR(m.per_class[1].precision, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.per_class[1].recall, 1.0);
  EXPECT_NEAR(m.per_class[1].f1, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 1.0);
  EXPECT_NEAR(m.per_class[2].f1, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(m.per_class[2].support, 2u);
  EXPECT_NEAR(m.macro_f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
}

TEST(Metrics, InvalidPredictionsCountAsWrong) {
  // truth a b, pred none b: a has recall 0 and no predictions (P = 0 by convention); b is perfect.
  const auto m = classification_metrics({"a", "b"}, {0, 1}, {-1, 1});
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_EQ(m.confusion[0][2], 1u);
  EXPECT_DOUBLE_EQ(m.per_class[0].recall, 0.0);
  EXPECT_DOUBLE_EQ(m.per_class[0].f1, 0.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.5);
  EXPECT_THROW(classification_metrics({"a", "b"}, {0, 2}, {0, 0}), Error);
  EXPECT_THROW(classification_metrics({"a", "b"}, {0}, {0, 0}), Error);
}

TEST(Metrics, CalibrationByHand) {
  const std::vector<double> conf = {0.95, 0.85, 0.75, 0.65, 0.55};
  const std::vector<bool> ok = {true, true, false, true, false};
  // Two bins: all five in [0.5, 1): mean confidence 0.75, accuracy 0.6 -> ECE 0.15.
  const auto two = calibration(conf, ok, 2);
  EXPECT_EQ(two.bins[0].count, 0u);
  EXPECT_EQ(two.bins[1].count, 5u);
  EXPECT_NEAR(two.bins[1].confidence, 0.75, 1e-12);
  EXPECT_NEAR(two.bins[1].accuracy, 0.6, 1e-12);
  EXPECT_NEAR(two.ece, 0.15, 1e-12);
  // Ten bins: one each: (0.05 + 0.15 + 0.75 + 0.35 + 0.55) / 5 = 0.37.
  EXPECT_NEAR(calibration(conf, ok, 10).ece, 0.37, 1e-12);
  // 1.0 falls in the last bin; a perfectly confident, always right model has ECE 0.
  const auto sure = calibration({1.0, 1.0}, {true, true}, 10);
  EXPECT_EQ(sure.bins[9].count, 2u);
  EXPECT_DOUBLE_EQ(sure.ece, 0.0);
}

TEST(Metrics, ExactMatchTrims) {
  EXPECT_NEAR(exact_match({" a", "b", "c\n"}, {"a", "B", "c"}), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(exact_match({}, {}), 0.0);
}

TEST(Metrics, ExtractionByHand) {
  // Leaves of the truth: name, age, tags[0], tags[1]; of the prediction: name, age (31), tags[0], extra.
  // tp 2 (name, tags[0]), fn 2 (age, tags[1]), fp 2 (age, extra). The second prediction is not JSON:
  // its one truth leaf is a miss -> tp 2, fp 2, fn 3: P 0.5, R 0.4, F1 4/9.
  const auto m = extraction_metrics({R"({"name":"Ann","age":31,"tags":["x"],"extra":1})", "not json"},
                                    {R"({"name":"Ann","age":30,"tags":["x","y"]})", R"({"a":1})"});
  EXPECT_DOUBLE_EQ(m.validity, 0.5);
  EXPECT_EQ(m.total.tp, 2u);
  EXPECT_EQ(m.total.fp, 2u);
  EXPECT_EQ(m.total.fn, 3u);
  EXPECT_DOUBLE_EQ(m.total.precision(), 0.5);
  EXPECT_DOUBLE_EQ(m.total.recall(), 0.4);
  EXPECT_NEAR(m.total.f1(), 4.0 / 9.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.per_field.at("name").f1(), 1.0);
  EXPECT_DOUBLE_EQ(m.per_field.at("age").f1(), 0.0);
  EXPECT_NEAR(m.per_field.at("tags").f1(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(m.per_field.at("extra").fp, 1u);
  EXPECT_THROW(extraction_metrics({"{}"}, {"bad"}), Error);
}

TEST(Metrics, LatencyThroughputCost) {
  // Linear interpolation: q50 of 1..4 -> position 1.5 -> 2.5; q95 -> 2.85 -> 3.85; q99 -> 3.97.
  const auto l = latency_stats({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(l.mean, 2.5);
  EXPECT_DOUBLE_EQ(l.p50, 2.5);
  EXPECT_NEAR(l.p95, 3.85, 1e-12);
  EXPECT_NEAR(l.p99, 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(l.max, 4.0);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(tokens_per_second(50, 2), 25.0);
  EXPECT_DOUBLE_EQ(tokens_per_second(50, 0), 0.0);
  // 1000 * (100 * 0.5 + 10 * 1.5) / 1e6 = 0.065; 360 ms at 10 per hour: 1000 * 0.0001 h * 10 = 1.
  EXPECT_NEAR(cost_per_1k(100, 10, 0.5, 1.5), 0.065, 1e-12);
  EXPECT_NEAR(cost_per_1k(0, 0, 0, 0, 360, 10), 1.0, 1e-12);
}

TEST(Choice, ProbabilitiesRenormaliseOverAllowedTokens) {
  // Labels A = [1 3], B = [2 3], C = [1 0]. First step: tokens 1 and 2 allowed with weights 2 : 1 (token 3
  // has a huge logit but is not allowed). After token 1: tokens 3 and 0 allowed, weights 1 : 3. After 2:
  // only 3. So P(A) = 2/3 * 1/4 = 1/6, P(B) = 1/3, P(C) = 2/3 * 3/4 = 1/2.
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  const std::vector<float> first = {0, l2, 0, 9};
  const std::vector<float> after1 = {l3, 5, 5, 0}, after2 = {5, 5, 5, 0};
  const auto p = choice_probabilities({{1, 3}, {2, 3}, {1, 0}}, {{first, after1}, {first, after2}, {first, after1}});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NEAR(p[0], 1.0 / 6.0, 1e-6);
  EXPECT_NEAR(p[1], 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(p[2], 0.5, 1e-6);
  EXPECT_THROW(choice_probabilities({{1}}, {}), Error);
  EXPECT_THROW(choice_probabilities({{7}}, {{first}}), Error);
}

TEST(Choice, MatchLabel) {
  const std::vector<std::string> labels = {"spam", "ham"};
  EXPECT_EQ(match_label(" Spam.", labels), 0);
  EXPECT_EQ(match_label("I think it is ham, not spam", labels), 1);
  EXPECT_EQ(match_label("no idea", labels), -1);
}

}  // namespace
}  // namespace slm::eval
