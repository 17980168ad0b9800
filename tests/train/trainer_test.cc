// Training end to end on tiny random models: overfitting, resume equals an uninterrupted run, PEFT and GGUF
// adapter layouts, data loading with masks and bad records.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "train/export.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

model::ModelConfig small_config() {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 16, c.n_ctx = 32, c.dim = 16, c.n_layer = 2, c.n_head = 4, c.n_head_kv = 2, c.head_dim = 4;
  c.ffn_dim = 32, c.rope_dim = 4;
  return c;
}

Dataset tiny_data() {
  Dataset d;
  d.seqs.push_back(make_sequence({1, 2, 3, 4, 5, 6, 7, 8}, {0, 0, 1, 1, 1, 1, 1, 1}));
  d.seqs.push_back(make_sequence({1, 9, 10, 11, 12, 13}, {0, 1, 1, 1, 1, 1}));
  return d;
}

TEST(Trainer, FullModeOverfitsTinyData) {
  Net<float> net = Net<float>::random(small_config(), 1, 0.1f);
  net.set_full_trainable();
  const Dataset d = tiny_data();
  const double before = evaluate(net, d);
  TrainOptions o;
  o.steps = 150, o.batch = 2, o.schedule = {.lr = 1e-2f, .warmup = 5, .total = 150};
  train(net, d, nullptr, o);
  const double after = evaluate(net, d);
  EXPECT_GT(before, 2.0);
  EXPECT_LT(after, 0.05) << "before " << before;
}

TEST(Trainer, LoraLowersLoss) {
  Net<float> net = Net<float>::random(small_config(), 2, 0.1f);
  net.add_lora({.rank = 4, .alpha = 8}, 3);
  const Dataset d = tiny_data();
  const double before = evaluate(net, d);
  TrainOptions o;
  o.steps = 100, o.batch = 2, o.schedule = {.lr = 1e-2f, .total = 100};
  train(net, d, nullptr, o);
  EXPECT_LT(evaluate(net, d), 0.75 * before);
}

std::vector<float> all_weights(Net<float>& net) {
  std::vector<float> w;
  for (Tensor<float>* t : net.trainable()) w.insert(w.end(), t->w.begin(), t->w.end());
  return w;
}

TEST(Trainer, ResumeMatchesUninterruptedRun) {
  testing::TempDir a, b;
  const Dataset d = tiny_data();
  auto make = [] {
    Net<float> n = Net<float>::random(small_config(), 4, 0.1f);
    n.add_lora({.rank = 2, .alpha = 4, .dropout = 0.1f}, 5);
    return n;
  };
  TrainOptions o;
  o.steps = 12, o.batch = 3, o.schedule = {.lr = 5e-3f, .warmup = 2, .total = 12}, o.checkpoint_every = 5;
  o.out_dir = a.path().string();
  Net<float> full = make();
  train(full, d, nullptr, o);
  o.out_dir = b.path().string();
  // A run killed after its step-5 checkpoint leaves exactly this state on disk.
  Net<float> five = make();
  TrainOptions to5 = o;
  to5.steps = 5;
  train(five, d, nullptr, to5);
  Net<float> resumed = make();
  o.resume = true;
  train(resumed, d, nullptr, o);
  EXPECT_EQ(all_weights(full), all_weights(resumed));
}

TEST(Export, PeftLayoutAndConfig) {
  testing::TempDir dir;
  Net<float> net = Net<float>::random(small_config(), 6, 0.1f);
  LoraConfig lc{.rank = 4, .alpha = 8};
  lc.targets = {true, false, true, false, false, false, true};  // q, v, down
  net.add_lora(lc, 7);
  write_peft_adapter(net, dir.path().string(), "base");
  const auto st = safetensors::File::open((dir.path() / "adapter_model.safetensors").string());
  EXPECT_EQ(st.tensors().size(), size_t(2 * 3 * 2));
  const auto* qa = st.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  const auto* qb = st.find("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
  const auto* db = st.find("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
  ASSERT_TRUE(qa && qb && db);
  EXPECT_EQ(qa->shape, (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(qb->shape, (std::vector<int64_t>{16, 4}));
  EXPECT_EQ(db->shape, (std::vector<int64_t>{16, 4}));
  EXPECT_EQ(st.find("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"), nullptr);
  std::ifstream f(dir.path() / "adapter_config.json");
  const auto cfg = nlohmann::json::parse(f);
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["r"], 4);
  EXPECT_EQ(cfg["lora_alpha"], 8.0);
  EXPECT_EQ(cfg["task_type"], "CAUSAL_LM");
  EXPECT_EQ(cfg["target_modules"], (nlohmann::json{"q_proj", "v_proj", "down_proj"}));
  EXPECT_EQ(cfg["bias"], "none");
  EXPECT_EQ(cfg["base_model_name_or_path"], "base");
}

TEST(Export, UnpermuteRowsInvertsGgufOrder) {
  // One head of 4 rows: GGUF rows (0,1,2,3) hold HF rows (0,2,1,3).
  const std::vector<float> w = {0, 2, 1, 3};
  EXPECT_EQ(unpermute_rows(w, 4, 1, 1), (std::vector<float>{0, 1, 2, 3}));
}

TEST(Export, GgufAdapterKeysAndShapes) {
  testing::TempDir dir;
  Net<float> net = Net<float>::random(small_config(), 8, 0.1f);
  net.add_lora({.rank = 2, .alpha = 5}, 9);
  const std::string p = (dir.path() / "a.gguf").string();
  write_gguf_adapter(net, p);
  const auto g = gguf::File::open(p);
  EXPECT_EQ(g.get_string("general.type"), "adapter");
  EXPECT_EQ(g.get_string("adapter.type"), "lora");
  EXPECT_EQ(g.get_float("adapter.lora.alpha"), 5.0);
  const auto* a = g.find_tensor("blk.1.attn_q.weight.lora_a");
  const auto* b = g.find_tensor("blk.1.ffn_down.weight.lora_b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->ne, (std::vector<int64_t>{16, 2}));
  EXPECT_EQ(b->ne, (std::vector<int64_t>{2, 16}));
}

}  // namespace
}  // namespace slm::train
