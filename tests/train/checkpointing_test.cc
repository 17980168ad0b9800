// Gradient checkpointing: the same gradients (bit for bit, dropout included) with a lower peak of bytes held
// by the activation caches.
#include <gtest/gtest.h>

#include "train/net.h"

namespace slm::train {
namespace {

model::ModelConfig config() {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 19, c.n_ctx = 32, c.dim = 16, c.n_layer = 4, c.n_head = 4, c.n_head_kv = 2, c.head_dim = 4;
  c.ffn_dim = 40, c.rope_dim = 4;
  return c;
}

template <class T>
void expect_same_gradients(Net<T> net) {
  const Sequence s{{1, 5, 3, 9, 2, 4, 7, 7, 0, 12}, {5, 3, 9, 2, 4, 7, 7, 0, 12, 3}, std::vector<float>(10, 1.0f)};
  Net<T> ck = net;
  ck.set_checkpointing(true);
  net.zero_grad(), ck.zero_grad();
  EXPECT_EQ(net.loss_and_backward(s, 1.0, 99), ck.loss_and_backward(s, 1.0, 99));
  auto a = net.trainable(), b = ck.trainable();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]->g, b[i]->g) << a[i]->name;
  const size_t full = net.last_peak_activation_bytes(), low = ck.last_peak_activation_bytes();
  EXPECT_GT(low, 0u);
  // Four layers: every layer's cache against the inputs of all plus one layer's cache.
  EXPECT_LT(double(low), 0.5 * double(full)) << low << " vs " << full;
}

TEST(Checkpointing, FullModelSameGradientsLessMemory) {
  Net<float> net = Net<float>::random(config(), 1, 0.3f);
  net.set_full_trainable();
  expect_same_gradients(std::move(net));
}

TEST(Checkpointing, LoraWithDropoutSameGradients) {
  Net<double> net = Net<double>::random(config(), 2, 0.3f);
  net.add_lora({.rank = 2, .alpha = 4, .dropout = 0.2f}, 3);
  for (Tensor<double>* t : net.trainable())
    if (t->name.ends_with("lora_b"))
      for (double& v : t->w) v = 0.1;
  expect_same_gradients(std::move(net));
}

}  // namespace
}  // namespace slm::train
