// Every sampling step against hand-computed expectations, the default chain, seeds and log-probabilities.
#include "runtime/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "core/error.h"

namespace slm::runtime {
namespace {

const float kLn2 = std::log(2.0f);
const float kLn4 = std::log(4.0f);
const float kInf = std::numeric_limits<float>::infinity();

std::vector<int32_t> ids(const Candidates& c) {
  std::vector<int32_t> out;
  for (const Candidate& x : c.items) out.push_back(x.id);
  return out;
}

float logit_of(const Candidates& c, int32_t id) {
  for (const Candidate& x : c.items) {
    if (x.id == id) return x.logit;
  }
  ADD_FAILURE() << "id " << id << " missing";
  return 0;
}

using V = std::vector<int32_t>;

TEST(Candidates, SoftmaxSortsAndNormalises) {
  // p = (1, 2, 4) / 7
  Candidates c = Candidates::from_logits(std::vector<float>{0.0f, kLn2, kLn4});
  c.softmax();
  EXPECT_EQ(ids(c), (V{2, 1, 0}));
  EXPECT_NEAR(c.items[0].p, 4.0 / 7, 1e-6);
  EXPECT_NEAR(c.items[1].p, 2.0 / 7, 1e-6);
  EXPECT_NEAR(c.items[2].p, 1.0 / 7, 1e-6);
}

TEST(Candidates, NanLogitsBecomeMinusInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Candidates c = Candidates::from_logits(std::vector<float>{nan, -5.0f, nan});
  EXPECT_EQ(pick_greedy(c), 1);
  EXPECT_EQ(c.items[0].logit, -kInf);
}

TEST(Greedy, PicksTheLowestIdAmongTies) {
  Candidates c = Candidates::from_logits(std::vector<float>{1.0f, 3.0f, 3.0f, 2.0f, 3.0f});
  EXPECT_EQ(pick_greedy(c), 1);
  c.sort();
  EXPECT_EQ(ids(c), (V{1, 2, 4, 3, 0}));
  EXPECT_EQ(pick_greedy(c), 1);
}

TEST(Temperature, DividesEveryLogit) {
  Candidates c = Candidates::from_logits(std::vector<float>{1.0f, 2.0f, 4.0f});
  apply_temperature(c, 2.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 0.5f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), 1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 2.0f);
  // Low temperature sharpens: p(2) of softmax(1,2,4)/0.5 = e^8 / (e^2 + e^4 + e^8).
  apply_temperature(c, 0.25f);  // now logits (2, 4, 8)
  c.softmax();
  EXPECT_NEAR(c.items[0].p, std::exp(8.0) / (std::exp(2.0) + std::exp(4.0) + std::exp(8.0)), 1e-6);
}

TEST(TopK, KeepsTheKHighestLowerIdsFirstOnTies) {
  Candidates c = Candidates::from_logits(std::vector<float>{1.0f, 5.0f, 3.0f, 5.0f, 2.0f});
  apply_top_k(c, 3);
  EXPECT_EQ(ids(c), (V{1, 3, 2}));
  Candidates t = Candidates::from_logits(std::vector<float>{1.0f, 3.0f, 3.0f, 0.0f});
  apply_top_k(t, 2);
  EXPECT_EQ(ids(t), (V{1, 2}));
  Candidates all = Candidates::from_logits(std::vector<float>{1.0f, 2.0f});
  apply_top_k(all, 0);
  EXPECT_EQ(all.items.size(), 2u);
  apply_top_k(all, 10);
  EXPECT_EQ(all.items.size(), 2u);
}

// p = (4, 2, 1, 1) / 8 = 0.5, 0.25, 0.125, 0.125
Candidates quarter_split() { return Candidates::from_logits(std::vector<float>{0.0f, kLn4, kLn2, 0.0f}); }

TEST(TopP, KeepsTheShortestPrefixReachingTheMass) {
  struct Case {
    float p;
    V want;
  };
  for (const Case& k : {Case{0.4f, {1}}, Case{0.74f, {1, 2}}, Case{0.76f, {1, 2, 0}}, Case{0.99f, {1, 2, 0, 3}},
                        Case{1.0f, {0, 1, 2, 3}}}) {
    Candidates c = quarter_split();
    apply_top_p(c, k.p);
    EXPECT_EQ(ids(c), k.want) << "p=" << k.p;
  }
  Candidates c = quarter_split();
  apply_top_p(c, 0.4f, /*min_keep=*/3);
  EXPECT_EQ(ids(c), (V{1, 2, 0}));
}

TEST(TopP, LargeVocabularySortsOnlyAPrefixWithTheSameResult) {
  Rng rng(5);
  for (float scale : {0.5f, 3.0f, 10.0f}) {
    const std::vector<float> logits = rng.normal(50000, scale);
    for (float p : {0.1f, 0.5f, 0.9f, 0.999f}) {
      Candidates fast = Candidates::from_logits(logits);  // unsorted: takes the prefix path
      apply_top_p(fast, p);
      Candidates full = Candidates::from_logits(logits);
      full.sort();  // sorted: takes the plain path
      apply_top_p(full, p);
      EXPECT_EQ(ids(fast), ids(full)) << "scale " << scale << " p " << p;
      EXPECT_TRUE(fast.sorted);
    }
  }
}

TEST(MinP, KeepsTokensAboveAFractionOfTheBest) {
  struct Case {
    float min_p;
    V want;
  };
  // thresholds: 0.6 -> p >= 0.3; 0.3 -> p >= 0.15; 0.2 -> p >= 0.1
  for (const Case& k : {Case{0.6f, {1}}, Case{0.3f, {1, 2}}, Case{0.2f, {1, 2, 0, 3}}, Case{0.0f, {0, 1, 2, 3}}}) {
    Candidates c = quarter_split();
    apply_min_p(c, k.min_p);
    EXPECT_EQ(ids(c), k.want) << "min_p=" << k.min_p;
  }
}

TEST(Penalties, RepeatDividesPositiveAndMultipliesNegativeLogitsOnce) {
  Candidates c = Candidates::from_logits(std::vector<float>{2.0f, -2.0f, 1.0f, 0.5f});
  const std::vector<int32_t> recent = {0, 1, 1};
  apply_penalties(c, recent, 2.0f, 0.0f, 0.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), -4.0f);  // twice in the window, penalised once
  EXPECT_FLOAT_EQ(logit_of(c, 2), 1.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 3), 0.5f);
}

TEST(Penalties, PresenceOnceFrequencyPerOccurrence) {
  Candidates c = Candidates::from_logits(std::vector<float>{2.0f, -2.0f, 1.0f, 0.5f});
  const std::vector<int32_t> recent = {0, 1, 1};
  apply_penalties(c, recent, 1.0f, 0.5f, 0.25f);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 2.0f - 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), -2.0f - 2 * 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 1.0f);
}

TEST(Penalties, SeeOnlyTheLastNTokens) {
  TokenHistory h(2);
  for (int32_t t : {0, 1, 1}) h.push(t);
  EXPECT_EQ(std::vector<int32_t>(h.recent().begin(), h.recent().end()), (V{1, 1}));
  Candidates c = Candidates::from_logits(std::vector<float>{2.0f, -2.0f});
  apply_step(PenaltyStep{2.0f, 0.0f, 0.0f}, c, h);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 2.0f);  // fell out of the window
  EXPECT_FLOAT_EQ(logit_of(c, 1), -4.0f);
  // A long history keeps exactly the last window tokens.
  TokenHistory long_h(3);
  for (int32_t t = 0; t < 1000; ++t) long_h.push(t);
  EXPECT_EQ(std::vector<int32_t>(long_h.recent().begin(), long_h.recent().end()), (V{997, 998, 999}));
  TokenHistory off(0);
  off.push(5);
  EXPECT_TRUE(off.recent().empty());
  TokenHistory all(-1);
  for (int32_t t = 0; t < 300; ++t) all.push(t);
  EXPECT_EQ(all.recent().size(), 300u);
}

TEST(LogitBias, AddsAndBans) {
  Candidates c = Candidates::from_logits(std::vector<float>{3.0f, 1.0f, 2.0f});
  const std::vector<LogitBias> bias = {{2, 10.0f}, {0, -kInf}};
  apply_logit_bias(c, bias);
  EXPECT_FLOAT_EQ(logit_of(c, 2), 12.0f);
  EXPECT_EQ(logit_of(c, 0), -kInf);
  EXPECT_EQ(pick_greedy(c), 2);
  const std::vector<LogitBias> bad = {{3, 1.0f}};
  EXPECT_THROW(apply_logit_bias(c, bad), Error);
}

TEST(LogitBias, BannedTokensAreNeverDrawn) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.logit_bias = {{0, -kInf}};
  Sampler s(p);
  const std::vector<float> logits = {5.0f, 0.0f, 0.0f};  // token 0 would win almost always
  for (int i = 0; i < 200; ++i) EXPECT_NE(s.sample(logits), 0);
}

// Greedy with only a logit bias takes a direct argmax of the biased row; it must pick what the candidate
// list picks (TopK with k = 0 keeps everything and forces the list): ties to the lowest id, NaN never,
// bans, boosts, and the same error for an id past the vocabulary.
TEST(LogitBias, GreedyDirectArgmaxEqualsTheCandidateList) {
  Rng rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> row = rng.normal(64);
    for (size_t i = 0; i < row.size(); i += 7) row[i] = std::round(row[i]);  // ties
    if (trial % 5 == 0) row[size_t(trial) % 64] = std::nanf("");
    if (trial % 9 == 0) row.assign(64, -kInf);  // everything banned already: id 0 either way
    const std::vector<LogitBias> bias = {{int32_t(trial % 64), -kInf}, {int32_t((trial * 7) % 64), 0.75f},
                                         {int32_t((trial * 13) % 64), -0.5f}};
    Sampler direct({LogitBiasStep{bias}}, true, 0, 1);
    Sampler listed({LogitBiasStep{bias}, TopKStep{0}}, true, 0, 1);
    const int32_t want = listed.sample(row);
    EXPECT_EQ(direct.sample(row), want) << "trial " << trial;
    // in place on the row: the same pick, and the row left bit for bit as it was
    std::vector<float> scratch = row;
    EXPECT_EQ(direct.sample_row(scratch), want) << "trial " << trial;
    EXPECT_EQ(0, std::memcmp(scratch.data(), row.data(), row.size() * sizeof(float))) << "trial " << trial;
  }
  Sampler bad({LogitBiasStep{{{3, 2.0f}, {64, 1.0f}}}}, true, 0, 1);
  EXPECT_THROW(bad.sample(std::vector<float>(64, 0.0f)), Error);
  std::vector<float> zeros(64, 0.0f);
  EXPECT_THROW(bad.sample_row(zeros), Error);
  EXPECT_EQ(zeros, std::vector<float>(64, 0.0f)) << "a refused bias must leave the row as it was";
  // the same id twice: both biases apply, and the row comes back
  Sampler twice({LogitBiasStep{{{5, 1.0f}, {5, 1.5f}}}}, true, 0, 1);
  std::vector<float> r(64, 0.0f);
  r[9] = 2.0f;
  EXPECT_EQ(twice.sample_row(r), 5);
  EXPECT_EQ(r[5], 0.0f);
}

TEST(Random, FrequenciesFollowTheProbabilities) {
  Rng rng(7);
  const std::vector<float> logits = {0.0f, kLn2, kLn4};  // p = 1/7, 2/7, 4/7
  std::map<int32_t, int> n;
  const int draws = 70000;
  for (int i = 0; i < draws; ++i) {
    Candidates c = Candidates::from_logits(logits);
    ++n[pick_random(c, rng)];
  }
  EXPECT_NEAR(n[0] / double(draws), 1.0 / 7, 0.01);
  EXPECT_NEAR(n[1] / double(draws), 2.0 / 7, 0.01);
  EXPECT_NEAR(n[2] / double(draws), 4.0 / 7, 0.01);
}

SamplingParams random_params(uint64_t seed) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::vector<int32_t> draws(Sampler& s, int n) {
  const std::vector<float> logits = {0.0f, kLn2, kLn4, 1.0f, 0.5f};
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits));
  return out;
}

TEST(Seed, SameSeedSameDrawsDifferentSeedDifferentDraws) {
  Sampler a(random_params(42)), b(random_params(42)), c(random_params(43));
  const auto da = draws(a, 64);
  EXPECT_EQ(da, draws(b, 64));
  EXPECT_NE(da, draws(c, 64));
  a.reset();
  EXPECT_EQ(draws(a, 64), da);
}

TEST(Seed, DrawsArePinnedAcrossPlatforms) {
  // xoshiro256** from core/rng.h and a double-precision walk: these ids are the same on every platform.
  Sampler s(random_params(1234));
  EXPECT_EQ(draws(s, 16), (V{2, 4, 1, 4, 2, 4, 3, 2, 3, 1, 3, 2, 2, 1, 3, 4}));
}

TEST(Chain, DefaultOrderAndGreedyShortcut) {
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_k = 40;
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  p.repeat_penalty = 1.1f;
  p.logit_bias = {{1, 1.0f}};
  std::vector<std::string> names;
  for (const SamplerStep& s : default_chain(p)) names.push_back(step_name(s));
  EXPECT_EQ(names, (std::vector<std::string>{"logit-bias(1)", "penalties(repeat=1.1, presence=0, frequency=0)",
                                             "top-k(40)", "top-p(0.9)", "min-p(0.05)", "temperature(0.7)"}));
  p.temperature = 0.0f;
  EXPECT_EQ(default_chain(p).size(), 2u);  // bias and penalties still shape the greedy pick
  EXPECT_TRUE(default_chain(greedy_params()).empty());
}

TEST(Chain, GreedySamplerHonoursPenalties) {
  SamplingParams p = greedy_params();
  p.repeat_penalty = 4.0f;
  Sampler s(p);
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  EXPECT_EQ(s.sample(logits), 1);
  s.accept(1);  // 3 / 4 = 0.75 < 2
  EXPECT_EQ(s.sample(logits), 2);
}

TEST(Chain, PlainGreedyEqualsTheCandidatePath) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Rng rng(9);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<float> logits = rng.normal(300, 2.0f);
    for (float& l : logits) l = std::round(l * 2) / 2;  // many ties
    logits[size_t(trial)] = nan;
    logits[0] = trial % 2 ? nan : logits[0];
    Sampler s(greedy_params());
    EXPECT_EQ(s.sample(logits), pick_greedy(Candidates::from_logits(logits))) << trial;
  }
  Sampler s(greedy_params());
  EXPECT_EQ(s.sample(std::vector<float>{nan, 1.0f, 1.0f}), 1);
}

TEST(Chain, TopKOneIsGreedyWhateverTheSeed) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SamplingParams p = random_params(seed);
    p.top_k = 1;
    Sampler s(p);
    EXPECT_EQ(s.sample(std::vector<float>{0.5f, 2.0f, 2.0f, 1.0f}), 1);
  }
}

TEST(Chain, RejectsBadSettings) {
  SamplingParams p;
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = SamplingParams{};
  p.min_p = 1.5f;
  EXPECT_THROW(Sampler{p}, Error);
  p = SamplingParams{};
  p.repeat_penalty = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = SamplingParams{};
  p.temperature = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(Sampler{p}, Error);
  Sampler ok{SamplingParams{}};
  EXPECT_THROW(ok.sample(std::vector<float>{}), Error);
}

TEST(Logprobs, ChosenAndTopAlternatives) {
  const std::vector<float> logits = {0.0f, kLn2, kLn4};
  EXPECT_NEAR(logprob_of(logits, 2), std::log(4.0 / 7), 1e-6);
  EXPECT_NEAR(logprob_of(logits, 0), std::log(1.0 / 7), 1e-6);
  const auto top = top_logprobs(logits, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 2);
  EXPECT_NEAR(top[0].logprob, std::log(4.0 / 7), 1e-6);
  EXPECT_EQ(top[1].id, 1);
  EXPECT_NEAR(top[1].logprob, std::log(2.0 / 7), 1e-6);
  EXPECT_EQ(top_logprobs(logits, 10).size(), 3u);
  EXPECT_TRUE(top_logprobs(logits, 0).empty());
  const auto tie = top_logprobs(std::vector<float>{1.0f, 1.0f, 0.0f}, 1);
  EXPECT_EQ(tie[0].id, 0);

  Sampler s(greedy_params());
  const Sampled r = s.sample_with_logprobs(logits, 1);
  EXPECT_EQ(r.id, 2);
  EXPECT_NEAR(r.logprob, std::log(4.0 / 7), 1e-6);
  ASSERT_EQ(r.top.size(), 1u);
  EXPECT_EQ(r.top[0].id, 2);
}

TEST(Logprobs, LargeLogitsDoNotOverflow) {
  const std::vector<float> logits = {1000.0f, 1000.0f, -1000.0f};
  EXPECT_NEAR(logprob_of(logits, 0), std::log(0.5), 1e-6);
  EXPECT_TRUE(std::isfinite(logprob_of(logits, 2)));
}

}  // namespace
}  // namespace slm::runtime
