// The training graph's forward on the synthetic qwen3 (q/k norms) and gemma2 (post-norms, soft-capping,
// sliding window, GeGLU, embedding scale) files reproduces llama.cpp's logits, and a LoRA step on each
// lowers the loss: the graph whose gradients grad_test checks is the model slm runs.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "model/model.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

void check_family(const std::string& name) {
  SLM_REQUIRE_TESTDATA(dir, "models/synthetic");
  const std::filesystem::path gguf = dir / (name + ".gguf");
  if (!std::filesystem::exists(gguf)) GTEST_SKIP() << gguf << " is absent";
  std::ifstream rf(dir / (name + ".ref.json"));
  const auto ref = nlohmann::json::parse(rf);
  std::ifstream lf(dir / (name + ".logits.f32"), std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(lf)), std::istreambuf_iterator<char>());
  const float* all = reinterpret_cast<const float*>(raw.data());
  const model::Model m = model::Model::load(gguf.string());
  Net<float> net = Net<float>::from_model(m);
  for (const auto& p : ref["prompts"]) {
    const std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
    const std::vector<float> got = net.logits(ids);
    const float* want = all + p["logits_offset_floats"].get<size_t>();
    ASSERT_EQ(got.size(), ids.size() * size_t(m.n_vocab()));
    double err = 0, ss = 0;
    for (size_t i = 0; i < got.size(); ++i) err += (got[i] - want[i]) * (got[i] - want[i]), ss += want[i] * want[i];
    // llama.cpp itself is this far from the float64 NumPy reference (BF16 rounding of activations): allow
    // that much, plus a float32 margin.
    const double bound = 1e-6 + 1.5 * p["nmse_llamacpp_vs_numpy"].get<double>();
    EXPECT_LT(err / ss, bound) << name << " prompt " << p["name"];
  }
  net.add_lora({.rank = 4, .alpha = 8}, 1);
  Dataset d;
  std::vector<int32_t> ids = ref["prompts"][0]["token_ids"].get<std::vector<int32_t>>();
  d.seqs.push_back(make_sequence(ids, std::vector<float>(ids.size(), 1.0f)));
  const double before = evaluate(net, d);
  TrainOptions o;
  o.steps = 5, o.batch = 1, o.schedule = {.lr = 1e-2f, .total = 5};
  train(net, d, nullptr, o);
  EXPECT_LT(evaluate(net, d), before) << name;
}

TEST(ArchRef, Qwen3LogitsMatchLlamaCpp) { check_family("qwen3-bf16"); }
TEST(ArchRef, Gemma2LogitsMatchLlamaCpp) { check_family("gemma2-f16"); }

}  // namespace
}  // namespace slm::train
