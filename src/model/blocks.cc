// RoPE, attention over the KV cache, and the gated MLP.
#include "model/blocks.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/thread_pool.h"
#include "kernels/parallel.h"
#include "model/attention.h"
#include "model/lora.h"
#include "model/observe.h"

namespace slm::model {

void Scratch::resize(const ModelConfig& cfg, size_t n, int n_ctx) {
  const size_t dim = size_t(cfg.dim), qd = size_t(cfg.q_dim()), kvd = size_t(cfg.kv_dim()), ffn = size_t(cfg.ffn_dim);
  for (auto [buf, len] : {std::pair{&x, dim}, {&xn, dim}, {&q, qd}, {&att, qd}, {&k, kvd}, {&v, kvd}, {&o, dim},
                          {&gate, ffn}, {&up, ffn}})
    buf->resize(n * len);
  scores.resize(size_t(n_ctx));
}

RopeTable rope_table(const ModelConfig& cfg, std::span<const float> freq_divisors,
                     std::span<const int32_t> positions) {
  RopeTable rt;
  rt.half = cfg.rope_dim / 2;
  const size_t h = size_t(rt.half);
  std::vector<double> inv_freq(h);
  for (size_t i = 0; i < h; ++i) {
    // theta_i = pos * base^(-2i / rope_dim) / divisor_i
    inv_freq[i] = std::pow(double(cfg.rope_theta), -2.0 * double(i) / double(cfg.rope_dim));
    if (!freq_divisors.empty()) inv_freq[i] /= double(freq_divisors[i]);
  }
  rt.cos.resize(positions.size() * h);
  rt.sin.resize(positions.size() * h);
  for (size_t r = 0; r < positions.size(); ++r) {
    for (size_t i = 0; i < h; ++i) {
      const double a = double(positions[r]) * inv_freq[i];
      rt.cos[r * h + i] = float(std::cos(a));
      rt.sin[r * h + i] = float(std::sin(a));
    }
  }
  return rt;
}

void rope_apply(const ModelConfig& cfg, const RopeTable& rt, size_t row, std::span<float> head) {
  const size_t h = size_t(rt.half);
  const float* c = rt.cos.data() + row * h;
  const float* s = rt.sin.data() + row * h;
  // normal: pairs (2i, 2i+1); neox: pairs (i, i + rope_dim/2)
  const size_t stride = cfg.rope_style == RopeStyle::normal ? 1 : h;
  const size_t step = cfg.rope_style == RopeStyle::normal ? 2 : 1;
  for (size_t i = 0; i < h; ++i) {
    float& a = head[i * step];
    float& b = head[i * step + stride];
    const float x0 = a, x1 = b;
    a = x0 * c[i] - x1 * s[i];
    b = x0 * s[i] + x1 * c[i];
  }
}

void rmsnorm_rows(const kernels::CpuKernels& k, std::span<const float> x, std::span<const float> w, float eps,
                  size_t width, std::span<float> y) {
  for (size_t r = 0; r * width < x.size(); ++r)
    k.rmsnorm(x.subspan(r * width, width), w, eps, y.subspan(r * width, width));
}

namespace {

void add_bias(std::span<float> y, const std::vector<float>& b) {
  if (b.empty()) return;
  for (size_t i = 0; i < y.size(); ++i) y[i] += b[i % b.size()];
}

void store_row(const kernels::CpuKernels& k, KvType t, std::span<const float> src, void* dst) {
  if (t == KvType::f16) {
    k.to_f16(src, static_cast<f16*>(dst));
  } else {
    std::copy(src.begin(), src.end(), static_cast<float*>(dst));
  }
}

// One query head against positions [lo, hi] of one sequence: out (head_dim) = softmax(q.K^T * scale) V.
void attend_head(const kernels::CpuKernels& k, const ModelConfig& cfg, KvCache& kv, int layer, int seq,
                 int lo, int hi, int kv_head, std::span<const float> q, std::span<float> scores,
                 std::span<float> out) {
  const size_t hd = size_t(cfg.head_dim), off = size_t(kv_head) * hd;
  const bool half = kv.type() == KvType::f16;
  const float scale = cfg.attn_scale();
  const std::span<float> sc = scores.first(size_t(hi - lo + 1));
  const size_t stride = size_t(kv.kv_dim());
  // Runs of positions whose rows are adjacent in the cache (a paged block, or the whole contiguous cache).
  for (int j = lo; j <= hi;) {
    const int run = std::min(hi - j + 1, kv.contiguous_rows(j));
    const void* kr = kv.k_row(layer, seq, j);
    float* out_j = sc.data() + (j - lo);
    if (half && k.dot_f16_rows) {
      k.dot_f16_rows(q, static_cast<const f16*>(kr) + off, stride, size_t(run), out_j);
    } else {
      for (int i = 0; i < run; ++i)
        out_j[i] = half ? k.dot_f16(q, static_cast<const f16*>(kr) + size_t(i) * stride + off)
                        : k.dot(q, std::span<const float>(static_cast<const float*>(kr) + size_t(i) * stride + off, hd));
    }
    j += run;
  }
  k.scale(sc, scale);
  if (cfg.attn_softcap > 0.0f) k.softcap(sc, cfg.attn_softcap);
  // softmax through the table's vectorised exp (the tiled prefill path uses the same exp_sum)
  const float mx = *std::max_element(sc.begin(), sc.end());
  k.scale(sc, 1.0f / k.exp_sum(sc, mx));
  std::fill(out.begin(), out.end(), 0.0f);
  for (int j = lo; j <= hi;) {
    const int run = std::min(hi - j + 1, kv.contiguous_rows(j));
    const void* vr = kv.v_row(layer, seq, j);
    const std::span<const float> p = sc.subspan(size_t(j - lo), size_t(run));
    if (half && k.axpy_f16_rows) {
      k.axpy_f16_rows(p, static_cast<const f16*>(vr) + off, stride, out);
    } else {
      for (int i = 0; i < run; ++i) {
        if (half) {
          k.axpy_f16(p[size_t(i)], static_cast<const f16*>(vr) + size_t(i) * stride + off, out);
        } else {
          k.axpy(p[size_t(i)], std::span<const float>(static_cast<const float*>(vr) + size_t(i) * stride + off, hd), out);
        }
      }
    }
    j += run;
  }
}

}  // namespace

void attention_block(const kernels::CpuKernels& k, const ModelConfig& cfg, const LayerWeights& L, int layer,
                     const Batch& batch, const RopeTable& rt, KvCache& kv, Scratch& s) {
  const size_t n = batch.size(), hd = size_t(cfg.head_dim);
  const size_t qd = size_t(cfg.q_dim()), kvd = size_t(cfg.kv_dim());
  observe_matmul_input(L.wq, s.xn, int64_t(n));
  observe_matmul_input(L.wk, s.xn, int64_t(n));
  observe_matmul_input(L.wv, s.xn, int64_t(n));
  // q: (n, q_dim), k and v: (n, kv_dim); one pool loop for all three when decoding.
  const kernels::MatmulOut qkv[] = {{&L.wq, s.q}, {&L.wk, s.k}, {&L.wv, s.v}};
  kernels::matmul_parallel_fused(k, qkv, s.xn, int64_t(n));
  lora_apply(k, L.lora[kLoraQ], s.xn, int64_t(n), s.q);
  lora_apply(k, L.lora[kLoraK], s.xn, int64_t(n), s.k);
  lora_apply(k, L.lora[kLoraV], s.xn, int64_t(n), s.v);
  add_bias(s.q, L.bq);
  add_bias(s.k, L.bk);
  add_bias(s.v, L.bv);
  if (cfg.qk_norm) {  // per-head RMSNorm before RoPE
    rmsnorm_rows(k, s.q, L.q_norm, cfg.norm_eps, hd, s.q);
    rmsnorm_rows(k, s.k, L.k_norm, cfg.norm_eps, hd, s.k);
  }
  for (size_t r = 0; r < n; ++r) {
    for (int h = 0; h < cfg.n_head; ++h) rope_apply(cfg, rt, r, std::span(s.q).subspan(r * qd + h * hd, hd));
    for (int h = 0; h < cfg.n_head_kv; ++h)
      rope_apply(cfg, rt, r, std::span(s.k).subspan(r * kvd + h * hd, hd));
    const int seq = batch.seq_ids[r], pos = batch.positions[r];
    store_row(k, kv.type(), std::span(s.k).subspan(r * kvd, kvd), kv.k_row(layer, seq, pos));
    store_row(k, kv.type(), std::span(s.v).subspan(r * kvd, kvd), kv.v_row(layer, seq, pos));
  }
  const int group = cfg.n_head / cfg.n_head_kv;  // query head h reads kv head h / group
  // Prefill: tiles of rows x keys (attention.h). Otherwise (row, head) pairs are independent: split them
  // over the pool, one scores buffer per thread.
  if (use_tiled_attention(batch)) attend_tiled(k, cfg, kv, layer, batch, s.q, s.att);
  else global_pool().for_range(int64_t(n) * cfg.n_head, 1, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> scores;  // per thread, kept between calls (no allocation per token)
    if (scores.size() < s.scores.size()) scores.resize(s.scores.size());
    for (int64_t i = b; i < e; ++i) {
      const size_t r = size_t(i / cfg.n_head);
      const int h = int(i % cfg.n_head);
      const int seq = batch.seq_ids[r], pos = batch.positions[r];
      const int lo = cfg.layer_slides(layer) ? std::max(0, pos - cfg.sliding_window + 1) : 0;
      attend_head(k, cfg, kv, layer, seq, lo, pos, h / group, std::span(s.q).subspan(r * qd + h * hd, hd),
                  scores, std::span(s.att).subspan(r * qd + h * hd, hd));
    }
  });
  observe_matmul_input(L.wo, s.att, int64_t(n));
  kernels::matmul_parallel(k, L.wo, s.att, int64_t(n), s.o);  // o: (n, dim)
  lora_apply(k, L.lora[kLoraO], s.att, int64_t(n), s.o);
}

void mlp_block(const kernels::CpuKernels& k, const ModelConfig& cfg, const LayerWeights& L, Scratch& s) {
  const int64_t n = int64_t(s.xn.size() / size_t(cfg.dim));
  observe_matmul_input(L.w_gate, s.xn, n);
  observe_matmul_input(L.w_up, s.xn, n);
  const kernels::MatmulOut gate_up[] = {{&L.w_gate, s.gate}, {&L.w_up, s.up}};  // gate, up: (n, ffn)
  kernels::matmul_parallel_fused(k, gate_up, s.xn, n);
  lora_apply(k, L.lora[kLoraGate], s.xn, n, s.gate);
  lora_apply(k, L.lora[kLoraUp], s.xn, n, s.up);
  if (cfg.act == Activation::gelu_tanh) {
    k.gelu_tanh_mul(s.gate, s.up, s.gate);
  } else {
    k.silu_mul(s.gate, s.up, s.gate);
  }
  observe_matmul_input(L.w_down, s.gate, n);
  kernels::matmul_parallel(k, L.w_down, s.gate, n, s.o);  // o: (n, dim)
  lora_apply(k, L.lora[kLoraDown], s.gate, n, s.o);
}

}  // namespace slm::model
