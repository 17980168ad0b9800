// qlora: a base kept in Q4_0 / Q8_0 / Q4_K gives the adapters the same gradients as LoRA on the dequantised
// base, holds fewer bytes, and trains.
#include <gtest/gtest.h>

#include "core/error.h"
#include "quant/quant.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

model::ModelConfig config(int dim, int ffn, int layers = 2) {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 11, c.n_ctx = 16, c.dim = dim, c.n_layer = layers, c.n_head = 4, c.n_head_kv = 2, c.head_dim = dim / 4;
  c.ffn_dim = ffn, c.rope_dim = dim / 4;
  return c;
}

// A LoRA net over `base` and the same net with its base stored in `type`; `plain` gets the dequantised values.
template <class T>
std::pair<Net<T>, Net<T>> qlora_pair(const Net<T>& base, DType type, int expect_quantised) {
  Net<T> q = base;
  q.add_lora({.rank = 2, .alpha = 3}, 5);
  EXPECT_EQ(q.quantise_base(type), expect_quantised);
  Net<T> plain = base;
  plain.add_lora({.rank = 2, .alpha = 3}, 5);
  auto qt = q.tensors(), pt = plain.tensors();
  for (size_t i = 0; i < qt.size(); ++i) {
    EXPECT_EQ(qt[i]->name, pt[i]->name);
    if (qt[i]->name.ends_with("lora_b"))
      for (std::vector<T>* w : {&qt[i]->w, &pt[i]->w})
        for (size_t j = 0; j < w->size(); ++j) (*w)[j] = T(0.01 * double(j % 7) - 0.02);
    if (!qt[i]->quantised()) continue;
    std::vector<float> f(size_t(qt[i]->size()));
    quant::dequantize(type, qt[i]->q.data(), f.data(), qt[i]->size());
    pt[i]->w.assign(f.begin(), f.end());
  }
  return {std::move(q), std::move(plain)};
}

const Sequence kSeq{{1, 5, 3, 9, 2, 4}, {5, 3, 9, 2, 7, 1}, {0, 1, 1, 0.5f, 1, 1}};

TEST(Qlora, GradientsEqualLoraOnDequantisedBaseDouble) {
  const Net<double> base = Net<double>::random(config(32, 64), 7, 0.5f);
  auto [q, plain] = qlora_pair(base, DType::Q4_0, 2 * 7 + 2);
  const double lq = q.loss_and_backward(kSeq, 1.0), lp = plain.loss_and_backward(kSeq, 1.0);
  EXPECT_EQ(lq, lp);
  auto gq = q.trainable(), gp = plain.trainable();
  ASSERT_EQ(gq.size(), size_t(2 * 2 * kNumTargets));
  for (size_t i = 0; i < gq.size(); ++i) EXPECT_EQ(gq[i]->g, gp[i]->g) << gq[i]->name;
}

TEST(Qlora, GradientsMatchLoraInFloatForEveryType) {
  for (DType type : {DType::Q4_0, DType::Q8_0, DType::Q4_K}) {
    const Net<float> base = Net<float>::random(config(256, 256, 1), 8, 0.05f);
    auto [q, plain] = qlora_pair(base, type, 7 + 2);
    const double lq = q.loss_and_backward(kSeq, 1.0), lp = plain.loss_and_backward(kSeq, 1.0);
    EXPECT_NEAR(lq, lp, 1e-4 * std::abs(lp)) << quant::type_name(type);
    auto gq = q.trainable(), gp = plain.trainable();
    for (size_t i = 0; i < gq.size(); ++i) {
      double err = 0, ref = 0;
      for (size_t j = 0; j < gq[i]->g.size(); ++j)
        err = std::max(err, double(std::abs(gq[i]->g[j] - gp[i]->g[j]))),
        ref = std::max(ref, double(std::abs(gp[i]->g[j])));
      EXPECT_LE(err, 1e-4 * ref + 1e-9) << quant::type_name(type) << " " << gq[i]->name;
    }
    EXPECT_LT(q.weight_bytes(), plain.weight_bytes() / 3) << quant::type_name(type);
  }
}

TEST(Qlora, UnalignedMatricesStayFloat) {
  Net<float> net = Net<float>::random(config(48, 64), 9, 0.1f);  // width 48: not a multiple of Q4_K's 256
  net.add_lora({.rank = 2}, 1);
  EXPECT_EQ(net.quantise_base(DType::Q4_K), 0);
  EXPECT_THROW(net.quantise_base(DType::IQ2_XXS), slm::Error);
}

TEST(Qlora, ShortRunLowersTheLoss) {
  Net<float> net = Net<float>::random(config(32, 64), 10, 0.1f);
  net.add_lora({.rank = 4, .alpha = 8}, 11);
  ASSERT_EQ(net.quantise_base(DType::Q4_0), 2 * 7 + 2);
  Dataset d;
  d.seqs.push_back(make_sequence({1, 2, 3, 4, 5, 6, 7, 8}, {0, 0, 1, 1, 1, 1, 1, 1}));
  d.seqs.push_back(make_sequence({1, 9, 10, 3, 2, 5}, {0, 1, 1, 1, 1, 1}));
  const double before = evaluate(net, d);
  TrainOptions o;
  o.steps = 60, o.batch = 2, o.schedule = {.lr = 1e-2f, .total = 60};
  train(net, d, nullptr, o);
  EXPECT_LT(evaluate(net, d), 0.75 * before);
}

}  // namespace
}  // namespace slm::train
