// Net<T>'s forward (activations kept per layer, or only layer inputs with gradient checkpointing) and backward
// (the forward read in reverse, recomputing a layer first when checkpointing) for one sequence.
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "train/distill.h"
#include "train/linear.h"
#include "train/net.h"
#include "train/ops.h"

namespace slm::train {

template <class T>
struct Net<T>::Impl {
  using V = std::vector<T>;
  struct Lin {  // one projection's LoRA activations
    V xd, mask, xa;  // dropped input (n, in) and its mask (dropout only), x A^T (n, rank)
  };
  struct LayerCache {
    V xin, xn1, r1, q, k, v, p, att, xmid, xn2, r2, g, u, h;
    V qraw, kraw, rq, rk, opre, ro, mpre, rm;  // q/k before their norms (qwen3), outputs before post-norms
    std::array<Lin, kNumTargets> lin;
  };
  Net& net;
  int64_t n;
  std::vector<LayerCache> lc;
  V x, xnf, rf, cos, sin, capped;

  static const T* ptr(const Tensor<T>& t) { return t.empty() ? nullptr : t.w.data(); }
  static T* gptr(Tensor<T>& t) { return t.trainable && !t.g.empty() ? t.g.data() : nullptr; }

  // y = x W^T + b + s * dropout(x) A^T B^T
  void lin_forward(Layer<T>& L, int t, const Tensor<T>* bias, const T* xin, V& y, Lin& c, Rng& rng) {
    const Tensor<T>& W = L.w[size_t(t)];
    y.assign(size_t(n * W.rows), T(0));
    linear_forward(net.pool_, W, bias ? ptr(*bias) : nullptr, xin, y.data(), n);
    Lora<T>& a = L.lora[size_t(t)];
    if (a.a.empty()) return;
    const T* xd = xin;
    const float p = net.lora_cfg_.dropout;
    if (p > 0) {
      c.mask.resize(size_t(n * W.cols));
      c.xd.resize(c.mask.size());
      for (size_t i = 0; i < c.mask.size(); ++i) {
        c.mask[i] = rng.uniform() < p ? T(0) : T(1.0 / (1.0 - p));
        c.xd[i] = xin[i] * c.mask[i];
      }
      xd = c.xd.data();
    }
    const int64_t r = a.a.rows;
    c.xa.assign(size_t(n * r), T(0));
    matmul_forward(net.pool_, xd, a.a.w.data(), (const T*)nullptr, c.xa.data(), n, W.cols, r);
    V tmp(y.size());
    matmul_forward(net.pool_, c.xa.data(), a.b.w.data(), (const T*)nullptr, tmp.data(), n, r, W.rows);
    const T s = T(net.lora_cfg_.scale());
    for (size_t i = 0; i < y.size(); ++i) y[i] += s * tmp[i];
  }

  void lin_backward(Layer<T>& L, int t, Tensor<T>* bias, const T* xin, const T* dy, T* dx, Lin& c) {
    Tensor<T>& W = L.w[size_t(t)];
    linear_backward(net.pool_, W, bias, xin, dy, dx, n);
    Lora<T>& a = L.lora[size_t(t)];
    if (a.a.empty()) return;
    const int64_t r = a.a.rows;
    const T s = T(net.lora_cfg_.scale());
    V dys(size_t(n * W.rows)), dxa(size_t(n * r), T(0));
    for (size_t i = 0; i < dys.size(); ++i) dys[i] = s * dy[i];
    matmul_backward(net.pool_, c.xa.data(), a.b.w.data(), dys.data(), dxa.data(), gptr(a.b), (T*)nullptr, n, r,
                    W.rows);
    const bool drop = !c.mask.empty();
    const T* xd = drop ? c.xd.data() : xin;
    if (!dx) {
      matmul_backward(net.pool_, xd, a.a.w.data(), dxa.data(), (T*)nullptr, gptr(a.a), (T*)nullptr, n, W.cols, r);
      return;
    }
    V dxd(size_t(n * W.cols), T(0));
    matmul_backward(net.pool_, xd, a.a.w.data(), dxa.data(), dxd.data(), gptr(a.a), (T*)nullptr, n, W.cols, r);
    for (size_t i = 0; i < dxd.size(); ++i) dx[i] += drop ? dxd[i] * c.mask[i] : dxd[i];
  }

  void rope_tables() {
    const model::ModelConfig& c = net.cfg_;
    const int h = c.rope_dim / 2;
    cos.resize(size_t(n * h)), sin.resize(size_t(n * h));
    for (int i = 0; i < h; ++i) {
      double f = std::pow(double(c.rope_theta), -2.0 * i / double(c.rope_dim));
      if (!net.rope_freqs.empty()) f /= double(net.rope_freqs[size_t(i)]);
      for (int64_t t = 0; t < n; ++t) {
        cos[size_t(t * h + i)] = T(std::cos(double(t) * f));
        sin[size_t(t * h + i)] = T(std::sin(double(t) * f));
      }
    }
  }

  AttnShape attn_shape(size_t l) const {
    const model::ModelConfig& c = net.cfg_;
    return {n, c.n_head, c.n_head_kv, c.head_dim, double(c.attn_scale()), double(c.attn_softcap),
            c.layer_slides(int(l)) ? int64_t(c.sliding_window) : 0};
  }

  // qwen3: per-head RMSNorm of q or k in place; raw keeps the input, r the per-row rstd.
  void head_norm_forward(const Tensor<T>& w, int heads, V& x, V& raw, V& r) {
    const model::ModelConfig& c = net.cfg_;
    raw = x, r.resize(size_t(n * heads));
    rmsnorm_forward(raw.data(), w.w.data(), T(c.norm_eps), x.data(), r.data(), n * heads, c.head_dim);
  }
  void head_norm_backward(Tensor<T>& w, int heads, const V& raw, const V& r, V& dx) {
    V d(dx.size(), T(0));
    rmsnorm_backward(raw.data(), w.w.data(), r.data(), dx.data(), d.data(), gptr(w), n * heads, net.cfg_.head_dim);
    dx = std::move(d);
  }
  // gemma2: y = rmsnorm(y) in place, pre keeps the input.
  void post_norm_forward(const Tensor<T>& w, V& y, V& pre, V& r) {
    const model::ModelConfig& c = net.cfg_;
    pre = y, r.resize(size_t(n));
    rmsnorm_forward(pre.data(), w.w.data(), T(c.norm_eps), y.data(), r.data(), n, c.dim);
  }
  // d (the residual's gradient) -> gradient of the pre-norm output.
  V post_norm_backward(Tensor<T>& w, const V& pre, const V& r, const V& d) {
    V dpre(d.size(), T(0));
    rmsnorm_backward(pre.data(), w.w.data(), r.data(), d.data(), dpre.data(), gptr(w), n, net.cfg_.dim);
    return dpre;
  }

  // One decoder layer on x (n, dim) in place, filling lc[l]. The dropout stream of a layer depends only on
  // (seed, layer), so the recomputation of gradient checkpointing draws the same masks.
  void layer_forward(size_t l, V& x, uint64_t dropout_seed) {
    const model::ModelConfig& c = net.cfg_;
    const int64_t d = c.dim;
    const bool adjacent = c.rope_style == model::RopeStyle::normal;
    const bool gelu = c.act == model::Activation::gelu_tanh;
    Rng rng(dropout_seed * 0x9E3779B97F4A7C15ull + l);
    Layer<T>& L = net.layers[l];
    LayerCache& C = lc[l];
    C.xin = x;
    C.xn1.resize(x.size()), C.r1.resize(size_t(n));
    rmsnorm_forward(x.data(), L.attn_norm.w.data(), T(c.norm_eps), C.xn1.data(), C.r1.data(), n, d);
    lin_forward(L, kQ, &L.bq, C.xn1.data(), C.q, C.lin[kQ], rng);
    lin_forward(L, kK, &L.bk, C.xn1.data(), C.k, C.lin[kK], rng);
    lin_forward(L, kV, &L.bv, C.xn1.data(), C.v, C.lin[kV], rng);
    if (c.qk_norm) {
      head_norm_forward(L.q_norm, c.n_head, C.q, C.qraw, C.rq);
      head_norm_forward(L.k_norm, c.n_head_kv, C.k, C.kraw, C.rk);
    }
    rope_apply(C.q.data(), cos.data(), sin.data(), n, c.n_head, c.head_dim, c.rope_dim, adjacent, false);
    rope_apply(C.k.data(), cos.data(), sin.data(), n, c.n_head_kv, c.head_dim, c.rope_dim, adjacent, false);
    C.p.assign(size_t(c.n_head * n * n), T(0));
    C.att.assign(size_t(n * c.q_dim()), T(0));
    attention_forward(net.pool_, attn_shape(l), C.q.data(), C.k.data(), C.v.data(), C.p.data(), C.att.data());
    V o;
    lin_forward(L, kO, nullptr, C.att.data(), o, C.lin[kO], rng);
    if (c.post_norms) post_norm_forward(L.post_attn_norm, o, C.opre, C.ro);
    for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    C.xmid = x;
    C.xn2.resize(x.size()), C.r2.resize(size_t(n));
    rmsnorm_forward(x.data(), L.ffn_norm.w.data(), T(c.norm_eps), C.xn2.data(), C.r2.data(), n, d);
    lin_forward(L, kGate, nullptr, C.xn2.data(), C.g, C.lin[kGate], rng);
    lin_forward(L, kUp, nullptr, C.xn2.data(), C.u, C.lin[kUp], rng);
    C.h.resize(C.g.size());
    glu_forward(C.g.data(), C.u.data(), C.h.data(), int64_t(C.g.size()), gelu);
    lin_forward(L, kDown, nullptr, C.h.data(), o, C.lin[kDown], rng);
    if (c.post_norms) post_norm_forward(L.post_ffn_norm, o, C.mpre, C.rm);
    for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
  }

  // Frees everything of a layer's cache but its input.
  static void release(LayerCache& C) {
    V xin = std::move(C.xin);
    C = LayerCache{};
    C.xin = std::move(xin);
  }

  static size_t cache_bytes(const LayerCache& C) {
    size_t b = 0;
    for (const V* v : {&C.xin, &C.xn1, &C.r1, &C.q, &C.k, &C.v, &C.p, &C.att, &C.xmid, &C.xn2, &C.r2, &C.g, &C.u, &C.h,
                       &C.qraw, &C.kraw, &C.rq, &C.rk, &C.opre, &C.ro, &C.mpre, &C.rm})
      b += v->capacity();
    for (const Lin& l : C.lin) b += l.xd.capacity() + l.mask.capacity() + l.xa.capacity();
    return b * sizeof(T);
  }

  // Tracks the peak of the bytes held by the layer caches.
  void note_bytes() {
    size_t b = 0;
    for (const LayerCache& C : lc) b += cache_bytes(C);
    net.peak_activation_bytes_ = std::max(net.peak_activation_bytes_, b);
  }

  // Returns logits (n, vocab).
  V forward(const std::vector<int32_t>& tokens, uint64_t dropout_seed) {
    const model::ModelConfig& c = net.cfg_;
    const int64_t d = c.dim;
    for (int32_t tok : tokens)
      if (tok < 0 || tok >= c.n_vocab) fail("[train] token id {} out of range [0, {})", tok, c.n_vocab);
    x.assign(size_t(n * d), T(0));
    for (int64_t t = 0; t < n; ++t) {
      T* xr = x.data() + t * d;
      tensor_row(net.tok_embd, tokens[size_t(t)], xr);
      for (int64_t i = 0; i < d; ++i) xr[i] *= T(c.embed_scale);
    }
    rope_tables();
    lc.assign(net.layers.size(), LayerCache{});
    for (size_t l = 0; l < net.layers.size(); ++l) {
      layer_forward(l, x, dropout_seed);
      if (net.checkpointing_) release(lc[l]);  // only the layer input stays
      note_bytes();
    }
    xnf.resize(x.size()), rf.resize(size_t(n));
    rmsnorm_forward(x.data(), net.output_norm.w.data(), T(c.norm_eps), xnf.data(), rf.data(), n, d);
    const Tensor<T>& out = net.output.empty() ? net.tok_embd : net.output;
    V logits(size_t(n * c.n_vocab));
    linear_forward(net.pool_, out, (const T*)nullptr, xnf.data(), logits.data(), n);
    if (c.final_softcap > 0) {  // gemma2: logits -> cap * tanh(logits / cap); kept for the backward
      const T cap = T(c.final_softcap);
      for (T& z : logits) z = cap * std::tanh(z / cap);
      capped = logits;
    }
    return logits;
  }

  // dlogits: (n, vocab) d loss / d logits.
  void backward(const std::vector<int32_t>& tokens, const V& dlogits, uint64_t dropout_seed) {
    const model::ModelConfig& c = net.cfg_;
    const int64_t d = c.dim;
    const bool adjacent = c.rope_style == model::RopeStyle::normal;
    const bool gelu = c.act == model::Activation::gelu_tanh;
    Tensor<T>& out = net.output.empty() ? net.tok_embd : net.output;
    V dxn(size_t(n * d), T(0)), dx(size_t(n * d), T(0));
    linear_backward(net.pool_, out, (Tensor<T>*)nullptr, xnf.data(), dlogits.data(), dxn.data(), n);
    rmsnorm_backward(x.data(), net.output_norm.w.data(), rf.data(), dxn.data(), dx.data(), gptr(net.output_norm), n,
                     d);
    for (size_t l = net.layers.size(); l-- > 0;) {
      Layer<T>& L = net.layers[l];
      LayerCache& C = lc[l];
      if (net.checkpointing_) {  // recompute this layer's activations from its input
        V xl = C.xin;
        layer_forward(l, xl, dropout_seed);
        note_bytes();
      }
      // MLP: x += down(act(gate(xn2)) * up(xn2))
      V dh(C.h.size(), T(0)), dg(C.g.size(), T(0)), du(C.u.size(), T(0));
      const V dmlp = c.post_norms ? post_norm_backward(L.post_ffn_norm, C.mpre, C.rm, dx) : V{};
      lin_backward(L, kDown, nullptr, C.h.data(), c.post_norms ? dmlp.data() : dx.data(), dh.data(), C.lin[kDown]);
      glu_backward(C.g.data(), C.u.data(), dh.data(), dg.data(), du.data(), int64_t(dh.size()), gelu);
      std::fill(dxn.begin(), dxn.end(), T(0));
      lin_backward(L, kGate, nullptr, C.xn2.data(), dg.data(), dxn.data(), C.lin[kGate]);
      lin_backward(L, kUp, nullptr, C.xn2.data(), du.data(), dxn.data(), C.lin[kUp]);
      rmsnorm_backward(C.xmid.data(), L.ffn_norm.w.data(), C.r2.data(), dxn.data(), dx.data(), gptr(L.ffn_norm), n,
                       d);
      // attention: x += o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1)))
      V datt(C.att.size(), T(0)), dq(C.q.size(), T(0)), dk(C.k.size(), T(0)), dv(C.v.size(), T(0));
      const V dattn = c.post_norms ? post_norm_backward(L.post_attn_norm, C.opre, C.ro, dx) : V{};
      lin_backward(L, kO, nullptr, C.att.data(), c.post_norms ? dattn.data() : dx.data(), datt.data(), C.lin[kO]);
      attention_backward(net.pool_, attn_shape(l), C.q.data(), C.k.data(), C.v.data(), C.p.data(), datt.data(),
                         dq.data(), dk.data(), dv.data());
      rope_apply(dq.data(), cos.data(), sin.data(), n, c.n_head, c.head_dim, c.rope_dim, adjacent, true);
      rope_apply(dk.data(), cos.data(), sin.data(), n, c.n_head_kv, c.head_dim, c.rope_dim, adjacent, true);
      if (c.qk_norm) {
        head_norm_backward(L.q_norm, c.n_head, C.qraw, C.rq, dq);
        head_norm_backward(L.k_norm, c.n_head_kv, C.kraw, C.rk, dk);
      }
      std::fill(dxn.begin(), dxn.end(), T(0));
      lin_backward(L, kQ, &L.bq, C.xn1.data(), dq.data(), dxn.data(), C.lin[kQ]);
      lin_backward(L, kK, &L.bk, C.xn1.data(), dk.data(), dxn.data(), C.lin[kK]);
      lin_backward(L, kV, &L.bv, C.xn1.data(), dv.data(), dxn.data(), C.lin[kV]);
      rmsnorm_backward(C.xin.data(), L.attn_norm.w.data(), C.r1.data(), dxn.data(), dx.data(), gptr(L.attn_norm), n,
                       d);
      if (net.checkpointing_) C = LayerCache{};
    }
    if (T* g = gptr(net.tok_embd))
      for (int64_t t = 0; t < n; ++t)
        axpy(T(c.embed_scale), dx.data() + t * d, g + int64_t(tokens[size_t(t)]) * d, d);
  }
};

template <class T>
double Net<T>::loss_and_backward(const Sequence& s, double grad_scale, uint64_t dropout_seed, bool backward,
                                 const TeacherTargets* teacher, const DistillConfig* distill) {
  const size_t n = s.tokens.size();
  if (n == 0) return 0.0;
  SLM_CHECK(s.targets.size() == n && s.weights.size() == n, "sequence arrays differ");
  for (int32_t t : s.targets)
    if (t < 0 || t >= cfg_.n_vocab) fail("[train] target id {} out of range [0, {})", t, cfg_.n_vocab);
  peak_activation_bytes_ = 0;
  Impl im{*this, int64_t(n), {}, {}, {}, {}, {}, {}, {}};
  std::vector<T> logits = im.forward(s.tokens, dropout_seed);
  double loss = 0;
  if (teacher) {
    SLM_CHECK(distill && teacher->ids.size() == n * size_t(teacher->k), "teacher targets do not fit the sequence");
    loss = distill_forward_backward(logits.data(), s.targets.data(), s.weights.data(), teacher->ids.data(),
                                    teacher->probs.data(), teacher->k, int64_t(n), int64_t(cfg_.n_vocab),
                                    double(distill->alpha), double(distill->temperature), T(grad_scale), &last_kl_);
  } else {
    last_kl_ = 0;
    loss = cross_entropy_forward_backward(logits.data(), s.targets.data(), s.weights.data(), int64_t(n),
                                          int64_t(cfg_.n_vocab), T(grad_scale));
  }
  if (backward) {
    if (cfg_.final_softcap > 0) {  // through cap * tanh(z / cap): times 1 - (y / cap)^2
      const T cap = T(cfg_.final_softcap);
      for (size_t i = 0; i < logits.size(); ++i) logits[i] *= T(1) - (im.capped[i] / cap) * (im.capped[i] / cap);
    }
    im.backward(s.tokens, logits, dropout_seed);
  }
  return loss;
}

template <class T>
std::vector<T> Net<T>::logits(const std::vector<int32_t>& tokens) {
  Impl im{*this, int64_t(tokens.size()), {}, {}, {}, {}, {}, {}, {}};
  if (tokens.empty()) return {};
  return im.forward(tokens, 0);
}

template double Net<float>::loss_and_backward(const Sequence&, double, uint64_t, bool, const TeacherTargets*,
                                                    const DistillConfig*);
template double Net<double>::loss_and_backward(const Sequence&, double, uint64_t, bool, const TeacherTargets*,
                                                     const DistillConfig*);
template std::vector<float> Net<float>::logits(const std::vector<int32_t>&);
template std::vector<double> Net<double>::logits(const std::vector<int32_t>&);

}  // namespace slm::train
