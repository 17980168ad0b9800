// Generator: greedy equals a hand-written decode loop, batching and chunking change nothing, prefix reuse,
// stop tokens and strings, limits, cancellation and bad requests.
#include "runtime/generate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/testdata.h"
#include "core/error.h"
#include "runtime/tiny_model.h"

namespace slm::runtime {
namespace {

// Writes each id as "<id>", so stop strings can be aimed at ids.
class TagDecoder : public PieceDecoder {
 public:
  std::string push(int32_t id) override { return "<" + std::to_string(id) + ">"; }
};
const DecoderFactory kTags = [] { return std::make_unique<TagDecoder>(); };

class GenerateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_model({}, dir_->file("tiny.gguf"));
    model_ = new model::Model(model::Model::load(dir_->file("tiny.gguf")));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }
  static GenerationRequest greedy(std::vector<int32_t> prompt, int n) {
    GenerationRequest r;
    r.prompt = std::move(prompt);
    r.sampling = greedy_params();
    r.max_tokens = n;
    return r;
  }
  // The reference: one token per forward call, argmax with the lowest id on ties.
  static std::vector<int32_t> reference_greedy(const std::vector<int32_t>& prompt, int n) {
    model::KvCache kv = model_->make_cache({.n_seq = 1, .n_ctx = 0, .type = model::KvType::f32});
    std::vector<float> logits(size_t(model_->n_vocab()));
    std::vector<int32_t> out;
    int32_t tok = prompt[0];
    for (int pos = 0; int(out.size()) < n; ++pos) {
      model::Batch b;
      b.add(tok, pos, 0, true);
      model_->forward(b, kv, logits);
      if (size_t(pos + 1) < prompt.size()) {
        tok = prompt[size_t(pos + 1)];
        continue;
      }
      tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      out.push_back(tok);
    }
    return out;
  }
  static GeneratorOptions f32(int n_seq = 1) { return {.n_seq = n_seq, .kv_type = model::KvType::f32}; }
  static testing::TempDir* dir_;
  static model::Model* model_;
};
testing::TempDir* GenerateTest::dir_ = nullptr;
model::Model* GenerateTest::model_ = nullptr;

TEST_F(GenerateTest, GreedyMatchesAHandWrittenLoop) {
  const std::vector<int32_t> prompt = {1, 17, 5, 42};
  Generator g(*model_, f32());
  const GenerationResult r = g.generate(greedy(prompt, 20), kTags);
  EXPECT_EQ(r.tokens, reference_greedy(prompt, 20));
  EXPECT_EQ(r.finish, FinishReason::length);
  EXPECT_EQ(r.n_prompt, 4);
  EXPECT_EQ(g.timings().n_prompt, 4);
  EXPECT_EQ(g.timings().n_gen, 20);
  std::set<int32_t> distinct(r.tokens.begin(), r.tokens.end());
  EXPECT_GT(distinct.size(), 3u) << "the tiny model should not be degenerate";
}

TEST_F(GenerateTest, StreamedPiecesConcatenateToTheText) {
  Generator g(*model_, f32());
  std::string streamed;
  std::vector<int32_t> ids;
  const GenerationResult r = g.generate(greedy({1, 3}, 8), kTags, [&](const StreamEvent& e) {
    streamed += e.text;
    ids.push_back(e.token);
    return true;
  });
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(ids, r.tokens);
  std::string want;
  for (int32_t t : r.tokens) want += "<" + std::to_string(t) + ">";
  EXPECT_EQ(r.text, want);
}

TEST_F(GenerateTest, ChunkedPrefillAndBatchingChangeNothing) {
  std::vector<GenerationRequest> reqs = {greedy({1, 2, 3, 4, 5, 6, 7}, 12), greedy({1, 9}, 5),
                                         greedy({1, 30, 31, 32, 33}, 9)};
  reqs[2].sampling = SamplingParams{};
  reqs[2].sampling.seed = 99;
  std::vector<GenerationResult> alone;
  for (const GenerationRequest& r : reqs) {
    Generator g(*model_, f32());
    alone.push_back(g.generate(r, kTags));
  }
  for (int chunk : {1, 3, 512}) {
    GeneratorOptions opt = f32(3);
    opt.prefill_chunk = chunk;
    Generator g(*model_, opt);
    const auto together = g.generate(reqs, kTags);
    ASSERT_EQ(together.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(together[i].tokens, alone[i].tokens) << "chunk " << chunk << " req " << i;
  }
}

TEST_F(GenerateTest, SameSeedSameOutput) {
  GenerationRequest r = greedy({1, 5}, 24);
  r.sampling = SamplingParams{};
  r.sampling.temperature = 1.5f;
  r.sampling.top_k = 0;
  r.sampling.seed = 7;
  Generator a(*model_, f32()), b(*model_, f32());
  const auto ra = a.generate(r, kTags), rb = b.generate(r, kTags);
  EXPECT_EQ(ra.tokens, rb.tokens);
  r.sampling.seed = 8;
  EXPECT_NE(b.generate(r, kTags).tokens, ra.tokens);
}

TEST_F(GenerateTest, ReusesTheCommonPrefixAndGivesTheSameAnswer) {
  Generator g(*model_, f32());
  const GenerationResult first = g.generate(greedy({1, 4, 8, 15}, 6), kTags);
  EXPECT_EQ(first.n_cached, 0);
  // The conversation goes on: the old prompt, the answer, and a new turn.
  std::vector<int32_t> next = {1, 4, 8, 15};
  next.insert(next.end(), first.tokens.begin(), first.tokens.end());
  next.insert(next.end(), {16, 23, 42});
  const GenerationResult second = g.generate(greedy(next, 6), kTags);
  EXPECT_EQ(second.n_cached, 4 + 5);  // everything fed so far (the last sampled id was never fed)
  EXPECT_EQ(g.timings().n_prompt, int(next.size()) - 9);
  Generator fresh(*model_, f32());
  EXPECT_EQ(second.tokens, fresh.generate(greedy(next, 6), kTags).tokens);
  // A prompt that diverges early keeps only the shared part; the same prompt recomputes its last token.
  const GenerationResult third = g.generate(greedy({1, 4, 9}, 3), kTags);
  EXPECT_EQ(third.n_cached, 2);
  const GenerationResult again = g.generate(greedy({1, 4, 9}, 3), kTags);
  EXPECT_EQ(again.n_cached, 2);
  EXPECT_EQ(again.tokens, third.tokens);
}

TEST_F(GenerateTest, StopTokenEndsWithoutEmittingIt) {
  Generator g(*model_, f32());
  const auto ids = g.generate(greedy({1, 6}, 10), kTags).tokens;
  GenerationRequest r = greedy({1, 6}, 10);
  r.stop_tokens = {ids[3]};
  const size_t first = size_t(std::find(ids.begin(), ids.end(), ids[3]) - ids.begin());
  const GenerationResult s = g.generate(r, kTags);
  EXPECT_EQ(s.finish, FinishReason::stop_token);
  EXPECT_EQ(s.stop_token, ids[3]);
  EXPECT_EQ(s.tokens, std::vector<int32_t>(ids.begin(), ids.begin() + ptrdiff_t(first)));
  EXPECT_EQ(s.text.find("<" + std::to_string(ids[3]) + ">"), std::string::npos);
}

TEST_F(GenerateTest, StopStringAcrossTokensIsCut) {
  Generator g(*model_, f32());
  const auto ids = g.generate(greedy({1, 6}, 10), kTags).tokens;
  // A stop string made of the end of token 2's text and the start of token 3's.
  const std::string t2 = "<" + std::to_string(ids[2]) + ">", t3 = "<" + std::to_string(ids[3]) + ">";
  GenerationRequest r = greedy({1, 6}, 10);
  r.stop_strings = {t2.substr(1) + t3.substr(0, 2)};
  std::string streamed;
  const GenerationResult s = g.generate(r, kTags, [&](const StreamEvent& e) {
    streamed += e.text;
    return true;
  });
  EXPECT_EQ(s.finish, FinishReason::stop_string);
  EXPECT_EQ(s.stop_string, r.stop_strings[0]);
  std::string want;
  for (size_t i = 0; i < 2; ++i) want += "<" + std::to_string(ids[i]) + ">";
  ASSERT_EQ(want.find(r.stop_strings[0]), std::string::npos) << "pick another split for this model";
  EXPECT_EQ(s.text, want + "<");  // everything before the match, which starts inside token 2's text
  EXPECT_EQ(streamed, s.text);
  EXPECT_EQ(s.tokens.size(), 4u);
}

TEST_F(GenerateTest, ContextFullAndZeroTokens) {
  GeneratorOptions opt = f32();
  opt.n_ctx = 8;
  Generator g(*model_, opt);
  const GenerationResult r = g.generate(greedy({1, 2, 3, 4, 5}, 100), kTags);
  EXPECT_EQ(r.finish, FinishReason::context_full);
  EXPECT_EQ(r.tokens.size(), 4u);  // positions 5, 6, 7 are fed; the 4th sample has no room
  const GenerationResult none = g.generate(greedy({1, 2}, 0), kTags);
  EXPECT_TRUE(none.tokens.empty());
  EXPECT_EQ(none.finish, FinishReason::length);
}

TEST_F(GenerateTest, CallbackCanCancel) {
  Generator g(*model_, f32());
  int calls = 0;
  const GenerationResult r = g.generate(greedy({1, 2}, 50), kTags, [&](const StreamEvent&) { return ++calls < 3; });
  EXPECT_EQ(r.finish, FinishReason::cancelled);
  EXPECT_EQ(r.tokens.size(), 3u);
}

TEST_F(GenerateTest, LogprobsPerSampledToken) {
  Generator g(*model_, f32());
  GenerationRequest r = greedy({1, 2}, 4);
  r.n_logprobs = 3;
  const GenerationResult res = g.generate(r, kTags);
  ASSERT_EQ(res.logprobs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(res.logprobs[i].id, res.tokens[i]);
    ASSERT_EQ(res.logprobs[i].top.size(), 3u);
    EXPECT_EQ(res.logprobs[i].top[0].id, res.tokens[i]);  // greedy picks the most likely
    EXPECT_FLOAT_EQ(res.logprobs[i].top[0].logprob, res.logprobs[i].logprob);
    EXPECT_LE(res.logprobs[i].logprob, 0.0f);
  }
}

TEST_F(GenerateTest, BadRequestsThrow) {
  GeneratorOptions opt = f32();
  opt.n_ctx = 8;
  Generator g(*model_, opt);
  EXPECT_THROW(g.generate(greedy({}, 3), kTags), Error);
  EXPECT_THROW(g.generate(greedy({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3), kTags), Error);
  EXPECT_THROW(g.generate(greedy({1, 64}, 3), kTags), Error);
  EXPECT_THROW(g.generate(greedy({1, -1}, 3), kTags), Error);
  std::vector<GenerationRequest> two = {greedy({1}, 1), greedy({1}, 1)};
  EXPECT_THROW(g.generate(two, kTags), Error);
  EXPECT_NO_THROW(g.generate(greedy({1}, 1), kTags));  // still usable after errors
}

}  // namespace
}  // namespace slm::runtime
