// Gradient checks in double precision: every training block against central finite differences, then the
// whole model (full and LoRA, llama and qwen2-style biases, SiLU and GeLU).
#include <gtest/gtest.h>

#include <functional>

#include "core/rng.h"
#include "train/net.h"
#include "train/ops.h"

namespace slm::train {
namespace {

using Vec = std::vector<double>;

Vec randn(Rng& rng, size_t n, double s = 1.0) {
  Vec v(n);
  for (double& x : v) x = rng.normal() * s;
  return v;
}

// Checks analytic d f / d x against central differences at every element of x.
void expect_grad(const std::function<double()>& f, Vec& x, const Vec& analytic, const char* what) {
  ASSERT_EQ(x.size(), analytic.size());
  double max_err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double h = 1e-6, x0 = x[i];
    x[i] = x0 + h;
    const double fp = f();
    x[i] = x0 - h;
    const double fm = f();
    x[i] = x0;
    const double num = (fp - fm) / (2 * h);
    max_err = std::max(max_err, std::abs(num - analytic[i]) / std::max(1.0, std::abs(num)));
  }
  EXPECT_LT(max_err, 1e-6) << what;
}

double weighted(const Vec& y, const Vec& dy) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * dy[i];
  return s;
}

TEST(TrainOps, MatmulBackward) {
  Rng rng(1);
  const int64_t n = 3, in = 5, out = 4;
  Vec x = randn(rng, n * in), w = randn(rng, out * in), b = randn(rng, out), dy = randn(rng, n * out);
  auto f = [&] {
    Vec y(n * out);
    matmul_forward<double>(nullptr, x.data(), w.data(), b.data(), y.data(), n, in, out);
    return weighted(y, dy);
  };
  Vec dx(x.size()), dw(w.size()), db(b.size());
  matmul_backward<double>(nullptr, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), n, in, out);
  expect_grad(f, x, dx, "dx");
  expect_grad(f, w, dw, "dw");
  expect_grad(f, b, db, "db");
}

TEST(TrainOps, RmsNormBackward) {
  Rng rng(2);
  const int64_t n = 3, d = 7;
  Vec x = randn(rng, n * d), w = randn(rng, d), dy = randn(rng, n * d), r(n);
  auto f = [&] {
    Vec y(n * d);
    rmsnorm_forward<double>(x.data(), w.data(), 1e-5, y.data(), r.data(), n, d);
    return weighted(y, dy);
  };
  f();
  Vec dx(x.size()), dw(w.size());
  rmsnorm_backward<double>(x.data(), w.data(), r.data(), dy.data(), dx.data(), dw.data(), n, d);
  expect_grad(f, x, dx, "dx");
  expect_grad(f, w, dw, "dw");
}

TEST(TrainOps, RopeBackwardBothStyles) {
  Rng rng(3);
  const int64_t n = 3;
  const int heads = 2, hd = 6, rd = 4;
  Vec cs(n * rd / 2), sn(n * rd / 2);
  for (size_t i = 0; i < cs.size(); ++i) cs[i] = std::cos(0.3 * double(i + 1)), sn[i] = std::sin(0.3 * double(i + 1));
  for (bool adjacent : {true, false}) {
    Vec x = randn(rng, n * heads * hd), dy = randn(rng, x.size());
    auto f = [&] {
      Vec y = x;
      rope_apply<double>(y.data(), cs.data(), sn.data(), n, heads, hd, rd, adjacent, false);
      return weighted(y, dy);
    };
    Vec dx = dy;
    rope_apply<double>(dx.data(), cs.data(), sn.data(), n, heads, hd, rd, adjacent, true);
    expect_grad(f, x, dx, adjacent ? "adjacent" : "neox");
  }
}

// attention_backward against finite differences of attention_forward for q (values scaled by q_scale), k
// and v; returns the kept probabilities p: (n_head, n, n).
Vec check_attention_grads(Rng& rng, const AttnShape& s, double q_scale) {
  const size_t qd = size_t(s.n_head * s.head_dim), kd = size_t(s.n_head_kv * s.head_dim);
  Vec q = randn(rng, size_t(s.n) * qd, q_scale), k = randn(rng, size_t(s.n) * kd), v = randn(rng, size_t(s.n) * kd);
  const Vec dy = randn(rng, size_t(s.n) * qd);
  Vec p(size_t(s.n_head * s.n * s.n));
  auto f = [&] {
    Vec out(size_t(s.n) * qd);
    attention_forward<double>(nullptr, s, q.data(), k.data(), v.data(), p.data(), out.data());
    return weighted(out, dy);
  };
  f();
  const Vec kept = p;
  Vec dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward<double>(nullptr, s, q.data(), k.data(), v.data(), p.data(), dy.data(), dq.data(), dk.data(),
                             dv.data());
  expect_grad(f, q, dq, "dq");
  expect_grad(f, k, dk, "dk");
  expect_grad(f, v, dv, "dv");
  return kept;
}

TEST(TrainOps, AttentionBackwardGqa) {
  Rng rng(4);
  check_attention_grads(rng, AttnShape{4, 4, 2, 3, 0.5}, 1.0);
}

TEST(TrainOps, AttentionBackwardSoftcapWindow) {
  Rng rng(14);
  AttnShape s{5, 2, 1, 3, 0.7};
  s.softcap = 1.5, s.window = 3;
  const Vec p = check_attention_grads(rng, s, 2.0);
  EXPECT_EQ(p[size_t(4 * s.n + 0)], 0.0);  // head 0, query 4 cannot see key 0 through a window of 3
}

TEST(TrainOps, GatedActivationBackward) {
  Rng rng(5);
  for (bool gelu : {false, true}) {
    Vec g = randn(rng, 9, 2.0), u = randn(rng, 9), dh = randn(rng, 9);
    auto f = [&] {
      Vec h(9);
      glu_forward<double>(g.data(), u.data(), h.data(), 9, gelu);
      return weighted(h, dh);
    };
    Vec dg(9), du(9);
    glu_backward<double>(g.data(), u.data(), dh.data(), dg.data(), du.data(), 9, gelu);
    expect_grad(f, g, dg, gelu ? "gelu dg" : "silu dg");
    expect_grad(f, u, du, gelu ? "gelu du" : "silu du");
  }
}

TEST(TrainOps, CrossEntropyBackward) {
  Rng rng(6);
  const int64_t n = 3, vocab = 5;
  Vec z = randn(rng, n * vocab);
  const std::vector<int32_t> y = {1, 4, 0};
  const std::vector<float> w = {1, 0, 0.5f};
  auto f = [&] {
    Vec t = z;
    return cross_entropy_forward_backward<double>(t.data(), y.data(), w.data(), n, vocab, 1.0);
  };
  Vec dz = z;
  cross_entropy_forward_backward<double>(dz.data(), y.data(), w.data(), n, vocab, 1.0);
  expect_grad(f, z, dz, "dlogits");
}

model::ModelConfig tiny_config(bool bias, bool gelu, bool tied) {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 11, c.n_ctx = 16, c.dim = 8, c.n_layer = 2, c.n_head = 4, c.n_head_kv = 2, c.head_dim = 4;
  c.ffn_dim = 12, c.rope_dim = 4, c.qkv_bias = bias, c.tied_embeddings = tied;
  c.act = gelu ? model::Activation::gelu_tanh : model::Activation::silu;
  c.rope_style = gelu ? model::RopeStyle::neox : model::RopeStyle::normal;
  c.embed_scale = gelu ? 2.0f : 1.0f;
  return c;
}

Sequence tiny_sequence() {
  return {{1, 5, 3, 9, 2}, {5, 3, 9, 2, 7}, {0, 1, 1, 0.5f, 1}};
}

// Compares every trainable element's gradient with a central difference of the loss.
void check_model(Net<double>& net, const char* what) {
  const Sequence s = tiny_sequence();
  net.zero_grad();
  net.loss_and_backward(s, 1.0);
  auto f = [&] { return net.loss_and_backward(s, 1.0, 0, false); };
  for (Tensor<double>* t : net.trainable()) {
    const Vec g = t->g;
    expect_grad(f, t->w, g, (std::string(what) + " " + t->name).c_str());
  }
}

TEST(TrainGrad, FullModelLlama) {
  Net<double> net = Net<double>::random(tiny_config(false, false, false), 7, 0.5f);
  net.set_full_trainable();
  check_model(net, "full llama");
}

TEST(TrainGrad, FullModelBiasGeluTied) {
  Net<double> net = Net<double>::random(tiny_config(true, true, true), 8, 0.5f);
  net.set_full_trainable();
  check_model(net, "full qwen2-style");
}

TEST(TrainGrad, FullModelQwen3QkNorm) {
  model::ModelConfig c = tiny_config(false, false, false);
  c.arch = "qwen3", c.qk_norm = true, c.rope_style = model::RopeStyle::neox;
  Net<double> net = Net<double>::random(c, 12, 0.5f);
  for (Layer<double>& L : net.layers)  // norms away from 1 so their gradients are not special
    for (double& w : L.q_norm.w) w = 0.8 + 0.1 * double(&w - L.q_norm.w.data());
  net.set_full_trainable();
  check_model(net, "full qwen3");
}

TEST(TrainGrad, FullModelGemma2) {
  model::ModelConfig c = tiny_config(false, true, true);  // GeGLU, neox RoPE, embed scale, tied output
  c.arch = "gemma2", c.post_norms = true, c.attn_softcap = 2.0f, c.final_softcap = 3.0f;
  c.sliding_window = 2, c.sliding_layer_period = 2;
  Net<double> net = Net<double>::random(c, 13, 0.5f);
  net.set_full_trainable();
  check_model(net, "full gemma2");
  Net<double> lora = Net<double>::random(c, 14, 0.5f);
  LoraConfig lc;
  lc.rank = 2;
  lora.add_lora(lc, 15);
  for (Tensor<double>* t : lora.trainable())
    if (t->name.ends_with("lora_b"))
      for (double& v : t->w) v = 0.3;
  check_model(lora, "lora gemma2");
}

TEST(TrainGrad, LoraAllTargets) {
  Net<double> net = Net<double>::random(tiny_config(false, false, false), 9, 0.5f);
  LoraConfig lc;
  lc.rank = 2, lc.alpha = 3;
  net.add_lora(lc, 10);
  for (Tensor<double>* t : net.trainable())  // B starts at zero: move it so A's gradient is not zero
    if (t->name.ends_with("lora_b"))
      for (double& v : t->w) v = 0.3;
  ASSERT_EQ(net.trainable().size(), size_t(2 * 2 * kNumTargets));
  check_model(net, "lora");
}

TEST(TrainGrad, LoraDropoutMaskIsConsistent) {
  Net<double> net = Net<double>::random(tiny_config(false, false, false), 11, 0.5f);
  LoraConfig lc;
  lc.rank = 2, lc.dropout = 0.3f;
  net.add_lora(lc, 12);
  for (Tensor<double>* t : net.trainable())
    if (t->name.ends_with("lora_b"))
      for (double& v : t->w) v = 0.2;
  const Sequence s = tiny_sequence();
  net.zero_grad();
  net.loss_and_backward(s, 1.0, 42);
  auto f = [&] { return net.loss_and_backward(s, 1.0, 42, false); };  // same seed: same mask
  for (Tensor<double>* t : net.trainable()) {
    const Vec g = t->g;
    expect_grad(f, t->w, g, t->name.c_str());
  }
}

}  // namespace
}  // namespace slm::train
