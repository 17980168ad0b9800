// LoRA on the real stories260K model: a pattern it cannot produce before training is produced greedily after,
// and the held-out loss falls.
#include <gtest/gtest.h>

#include <fstream>

#include "common/testdata.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/export.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

std::string greedy(Net<float>& net, const tok::Tokenizer& tok, const std::string& prompt, int n) {
  std::vector<int32_t> ids = tok.encode(prompt);
  const size_t start = ids.size();
  for (int i = 0; i < n; ++i) {
    const std::vector<float> lg = net.logits(ids);
    const float* last = lg.data() + (ids.size() - 1) * size_t(net.config().n_vocab);
    ids.push_back(int32_t(std::max_element(last, last + net.config().n_vocab) - last));
  }
  return tok.decode(std::span(ids).subspan(start));
}

TEST(StoriesLora, LearnsANewPattern) {
  const auto dir = testing::testdata_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/testdata is absent";
  const auto path = dir / "models/stories260K/stories260K.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  const model::Model m = model::Model::load(path.string());
  const tok::Tokenizer tok = tok::Tokenizer::from_gguf(*m.gguf());
  testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("train.jsonl"));
    for (const char* who : {"Tim", "Lily", "Ben", "Sue", "Max", "Anna"})
      f << "{\"prompt\": \"" << who << " said the magic word:\", \"completion\": \" blue blue moon.\"}\n";
    std::ofstream e(tmp.file("eval.jsonl"));
    e << "{\"prompt\": \"Tom said the magic word:\", \"completion\": \" blue blue moon.\"}\n";
  }
  const Dataset train_data = load_data(tmp.file("train.jsonl"), tok, {.seq_len = 64});
  const Dataset eval_data = load_data(tmp.file("eval.jsonl"), tok, {.seq_len = 64});
  ASSERT_EQ(train_data.seqs.size(), 6u);
  Net<float> net = Net<float>::from_model(m);
  net.add_lora({.rank = 8, .alpha = 16}, 1);
  ThreadPool pool(2);
  net.set_pool(&pool);
  const std::string before = greedy(net, tok, "Tom said the magic word:", 16);
  const double eval_before = evaluate(net, eval_data);
  TrainOptions o;
  o.steps = 60, o.batch = 3, o.schedule = {.lr = 1e-2f, .warmup = 5, .total = 60};
  train(net, train_data, nullptr, o);
  const std::string after = greedy(net, tok, "Tom said the magic word:", 16);
  EXPECT_EQ(before.find("blue blue moon"), std::string::npos) << before;
  EXPECT_NE(after.find("blue blue moon"), std::string::npos) << after;
  EXPECT_LT(evaluate(net, eval_data), 0.25 * eval_before);
  // The GGUF adapter applied at the inference engine's matmul sites gives the training graph's logits.
  write_gguf_adapter(net, tmp.file("adapter.gguf"));
  model::Model m2 = model::Model::load(path.string());
  m2.add_lora(tmp.file("adapter.gguf"));
  const std::vector<int32_t> ids = tok.encode("Tom said the magic word: blue");
  const std::vector<float> want = net.logits(ids);
  auto kv = m2.make_cache({.n_ctx = 64, .type = model::KvType::f32});
  const std::vector<float> got = m2.prefill(ids, kv, 0, true);
  ASSERT_EQ(got.size(), want.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < got.size(); ++i) err += (got[i] - want[i]) * (got[i] - want[i]), ref += want[i] * want[i];
  EXPECT_LT(err / ref, 1e-4);
}

TEST(StoriesData, MasksPromptsAndReportsBadRecords) {
  const auto dir = testing::testdata_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/testdata is absent";
  const auto path = dir / "models/stories260K/stories260K.gguf";
  const gguf::File g = gguf::File::open(path.string());
  const tok::Tokenizer tok = tok::Tokenizer::from_gguf(g);
  testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("d.jsonl"));
    f << "{\"prompt\": \"Once\", \"completion\": \" upon\"}\n\nnot json\n{\"other\": 1}\n{\"text\": \"The cat.\"}\n";
  }
  const Dataset d = load_data(tmp.file("d.jsonl"), tok, {.seq_len = 32});
  ASSERT_EQ(d.seqs.size(), 2u);
  EXPECT_EQ(d.n_skipped, 2u);
  ASSERT_EQ(d.problems.size(), 2u);
  EXPECT_NE(d.problems[0].find("d.jsonl:3:"), std::string::npos) << d.problems[0];
  EXPECT_NE(d.problems[1].find("d.jsonl:4:"), std::string::npos) << d.problems[1];
  // Prompt tokens carry no loss; completion tokens and EOS do.
  const std::vector<int32_t> prompt = tok.encode("Once", {.add_special = false});
  const std::vector<int32_t> comp = tok.encode(" upon", {.add_special = false});
  const Sequence& s = d.seqs[0];
  const size_t bos = tok.add_bos() ? 1 : 0;
  ASSERT_EQ(s.tokens.size(), bos + prompt.size() + comp.size());
  for (size_t i = 0; i < s.weights.size(); ++i) EXPECT_EQ(s.weights[i], i + 1 >= bos + prompt.size() ? 1.0f : 0.0f) << i;
  EXPECT_EQ(s.targets.back(), tok.eos());
  EXPECT_THROW(load_data(tmp.file("d.jsonl"), tok, {.seq_len = 32, .strict = true}), Error);
}

}  // namespace
}  // namespace slm::train
