// Distillation: the loss's gradient against finite differences in double (the op and the whole model), the
// teacher's top-k, and a student that moves towards a random teacher.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "train/distill.h"
#include "train/ops.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

TeacherTargets random_teacher(Rng& rng, int64_t n, int64_t vocab, int k) {
  std::vector<float> z(size_t(n * vocab));
  for (float& v : z) v = float(rng.normal() * 2);
  return teacher_top_k(z.data(), n, vocab, {.top_k = k, .temperature = 1.5f});
}

TEST(Distill, TopKIsSortedAndNormalised) {
  const std::vector<float> z = {0.f, 3.f, 1.f, 3.f, -2.f};
  const TeacherTargets t = teacher_top_k(z.data(), 1, 5, {.top_k = 3, .temperature = 1.0f});
  EXPECT_EQ(t.ids, (std::vector<int32_t>{1, 3, 2}));
  EXPECT_NEAR(t.probs[0] + t.probs[1] + t.probs[2], 1.0, 1e-6);
  EXPECT_FLOAT_EQ(t.probs[0], t.probs[1]);
  EXPECT_NEAR(t.probs[2] / t.probs[0], std::exp(-2.0), 1e-6);
}

TEST(Distill, LossGradientMatchesFiniteDifferences) {
  Rng rng(3);
  const int64_t n = 3, vocab = 7;
  const TeacherTargets tt = random_teacher(rng, n, vocab, 4);
  std::vector<double> z(size_t(n * vocab));
  for (double& v : z) v = rng.normal();
  const std::vector<int32_t> y = {2, 0, 6};
  const std::vector<float> w = {1, 0.5f, 0};
  for (double alpha : {0.0, 0.3, 1.0}) {
    auto f = [&] {
      std::vector<double> t = z;
      return distill_forward_backward<double>(t.data(), y.data(), w.data(), tt.ids.data(), tt.probs.data(), tt.k,
                                              n, vocab, alpha, 1.7, 1.0, nullptr);
    };
    std::vector<double> g = z;
    double kl = -1;
    distill_forward_backward<double>(g.data(), y.data(), w.data(), tt.ids.data(), tt.probs.data(), tt.k, n, vocab,
                                     alpha, 1.7, 1.0, &kl);
    EXPECT_GE(kl, 0.0);
    double max_err = 0;
    for (size_t i = 0; i < z.size(); ++i) {
      const double z0 = z[i], h = 1e-6;
      z[i] = z0 + h;
      const double fp = f();
      z[i] = z0 - h;
      const double fm = f();
      z[i] = z0;
      max_err = std::max(max_err, std::abs((fp - fm) / (2 * h) - g[i]));
    }
    EXPECT_LT(max_err, 1e-7) << "alpha " << alpha;
  }
}

model::ModelConfig tiny() {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 13, c.n_ctx = 16, c.dim = 8, c.n_layer = 2, c.n_head = 2, c.n_head_kv = 1, c.head_dim = 4;
  c.ffn_dim = 12, c.rope_dim = 4;
  return c;
}

TEST(Distill, WholeModelGradientMatchesFiniteDifferences) {
  Rng rng(4);
  Net<double> net = Net<double>::random(tiny(), 5, 0.5f);
  net.set_full_trainable();
  const Sequence s{{1, 5, 3, 9, 2}, {5, 3, 9, 2, 7}, {0, 1, 1, 0.5f, 1}};
  const TeacherTargets tt = random_teacher(rng, 5, 13, 5);
  const DistillConfig dc{.top_k = 5, .temperature = 2.0f, .alpha = 0.6f};
  net.zero_grad();
  net.loss_and_backward(s, 1.0, 0, true, &tt, &dc);
  for (Tensor<double>* t : net.trainable()) {
    double max_err = 0;
    for (size_t i = 0; i < t->w.size(); ++i) {
      const double w0 = t->w[i], h = 1e-6;
      t->w[i] = w0 + h;
      const double fp = net.loss_and_backward(s, 1.0, 0, false, &tt, &dc);
      t->w[i] = w0 - h;
      const double fm = net.loss_and_backward(s, 1.0, 0, false, &tt, &dc);
      t->w[i] = w0;
      const double num = (fp - fm) / (2 * h);
      max_err = std::max(max_err, std::abs(num - t->g[i]) / std::max(1.0, std::abs(num)));
    }
    EXPECT_LT(max_err, 1e-6) << t->name;
  }
}

}  // namespace
}  // namespace slm::train
