// RoPE, attention over the KV cache, and the gated MLP.
#include "model/blocks.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "core/thread_pool.h"
#include "kernels/parallel.h"
#include "model/attention.h"
#include "model/lora.h"
#include "model/observe.h"

namespace slm::model {

void Scratch::resize(const ModelConfig& cfg, size_t n) {
  const size_t dim = size_t(cfg.dim), qd = size_t(cfg.q_dim()), kvd = size_t(cfg.kv_dim()), ffn = size_t(cfg.ffn_dim);
  for (auto [buf, len] : {std::pair{&x, dim}, {&xn, dim}, {&q, qd}, {&att, qd}, {&k, kvd}, {&v, kvd}, {&o, dim},
                          {&gate, ffn}, {&up, ffn}})
    buf->resize(n * len);
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
  over_rows(x.size() / width, [&](int64_t r0, int64_t r1) {
    for (size_t r = size_t(r0); r < size_t(r1); ++r)
      k.rmsnorm(x.subspan(r * width, width), w, eps, y.subspan(r * width, width));
  });
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

// The g query heads of one kv head (q: g rows of head_dim) against positions [lo, hi] of one sequence:
// out (g rows of head_dim) = softmax(q.K^T * scale) V per head. scores: g rows `cap` apart.
void attend_group(const kernels::CpuKernels& k, const ModelConfig& cfg, KvCache& kv, int layer, int seq, int lo,
                  int hi, int kv_head, size_t g, const float* q, float* scores, size_t cap, float* out) {
  const size_t hd = size_t(cfg.head_dim), len = size_t(hi - lo + 1);
  const bool half = kv.type() == KvType::f16;
  const size_t stride = hd;  // a head's positions follow each other within a run
  // Runs of positions whose rows are adjacent in the cache (a paged block, or the whole contiguous cache).
  for (int j = lo; j <= hi;) {
    const int run = std::min(hi - j + 1, kv.contiguous_rows(j));
    const void* kr = kv.k_head(layer, seq, j, kv_head);
    float* out_j = scores + (j - lo);
    if (half && k.dot_f16_rows) {
      k.dot_f16_rows(q, g, hd, static_cast<const f16*>(kr), stride, size_t(run), out_j, cap);
    } else {
      for (size_t h = 0; h < g; ++h) {
        const std::span<const float> qh(q + h * hd, hd);
        for (int i = 0; i < run; ++i)
          out_j[h * cap + size_t(i)] =
              half ? k.dot_f16(qh, static_cast<const f16*>(kr) + size_t(i) * stride)
                   : k.dot(qh, std::span<const float>(static_cast<const float*>(kr) + size_t(i) * stride, hd));
      }
    }
    j += run;
  }
  for (size_t h = 0; h < g; ++h) {
    const std::span<float> sc(scores + h * cap, len);
    k.scale(sc, cfg.attn_scale());
    if (cfg.attn_softcap > 0.0f) k.softcap(sc, cfg.attn_softcap);
    // softmax through the table's vectorised exp (the tiled prefill path uses the same exp_sum)
    const float mx = *std::max_element(sc.begin(), sc.end());
    k.scale(sc, 1.0f / k.exp_sum(sc, mx));
  }
  std::fill(out, out + g * hd, 0.0f);
  for (int j = lo; j <= hi;) {
    const int run = std::min(hi - j + 1, kv.contiguous_rows(j));
    const void* vr = kv.v_head(layer, seq, j, kv_head);
    const float* p = scores + (j - lo);
    if (half && k.axpy_f16_rows) {
      k.axpy_f16_rows(p, g, cap, size_t(run), static_cast<const f16*>(vr), stride, out, hd);
    } else {
      for (size_t h = 0; h < g; ++h) {
        const std::span<float> oh(out + h * hd, hd);
        for (int i = 0; i < run; ++i) {
          const float pi = p[h * cap + size_t(i)];
          if (half) {
            k.axpy_f16(pi, static_cast<const f16*>(vr) + size_t(i) * stride, oh);
          } else {
            k.axpy(pi, std::span<const float>(static_cast<const float*>(vr) + size_t(i) * stride, hd), oh);
          }
        }
      }
    }
    j += run;
  }
}

}  // namespace

KeptRows kept_rows(const Batch& batch, std::vector<int32_t> index) {
  KeptRows out{std::move(index), {}};
  for (int32_t r : out.index) {
    out.batch.add(batch.tokens[size_t(r)], batch.positions[size_t(r)], batch.seq_ids[size_t(r)], true);
    if (!batch.adapters.empty()) out.batch.adapters.push_back(batch.adapters[size_t(r)]);
  }
  return out;
}

void attention_block(const kernels::CpuKernels& k, const ModelConfig& cfg, const LayerWeights& L, int layer,
                     const Batch& batch, const RopeTable& rt, KvCache& kv, Scratch& s,
                     const KeptRows* keep) {
  const size_t n = batch.size(), hd = size_t(cfg.head_dim), dim = size_t(cfg.dim);
  const size_t qd = size_t(cfg.q_dim()), kvd = size_t(cfg.kv_dim());
  const size_t m = keep ? keep->index.size() : n;  // rows that go on past the cache writes
  // q: (m, q_dim), k and v: (n, kv_dim); one pool loop for all three when every row goes on.
  std::span<const float> xq = s.xn;  // the rows q is projected from: (m, dim)
  if (keep) {
    for (size_t i = 0; i < m; ++i)  // s.o is free until the output projection
      std::copy_n(s.xn.begin() + std::ptrdiff_t(size_t(keep->index[i]) * dim), dim, s.o.begin() + std::ptrdiff_t(i * dim));
    xq = std::span<const float>(s.o).first(m * dim);
  }
  observe_matmul_input(L.wq, xq, int64_t(m));
  observe_matmul_input(L.wk, s.xn, int64_t(n));
  observe_matmul_input(L.wv, s.xn, int64_t(n));
  if (keep) {
    const kernels::MatmulOut kv_out[] = {{&L.wk, s.k}, {&L.wv, s.v}};
    kernels::matmul_parallel_fused(k, kv_out, s.xn, int64_t(n));
    if (m > 0) kernels::matmul_parallel(k, L.wq, xq, int64_t(m), s.q);
  } else {
    const kernels::MatmulOut qkv[] = {{&L.wq, s.q}, {&L.wk, s.k}, {&L.wv, s.v}};
    kernels::matmul_parallel_fused(k, qkv, s.xn, int64_t(n));
  }
  lora_apply(k, L.lora[kLoraK], s.xn, int64_t(n), s.k);
  lora_apply(k, L.lora[kLoraV], s.xn, int64_t(n), s.v);
  add_bias(s.k, L.bk);
  add_bias(s.v, L.bv);
  if (cfg.qk_norm) rmsnorm_rows(k, s.k, L.k_norm, cfg.norm_eps, hd, s.k);  // per-head RMSNorm before RoPE
  over_rows(n, [&](int64_t r0, int64_t r1) {  // RoPE, then the row's K and V into the cache
    for (size_t r = size_t(r0); r < size_t(r1); ++r) {
      for (int h = 0; h < cfg.n_head_kv; ++h)
        rope_apply(cfg, rt, r, std::span(s.k).subspan(r * kvd + h * hd, hd));
      const int seq = batch.seq_ids[r], pos = batch.positions[r];
      for (int h = 0; h < cfg.n_head_kv; ++h) {
        const size_t at = r * kvd + size_t(h) * hd;
        store_row(k, kv.type(), std::span(s.k).subspan(at, hd), kv.k_head(layer, seq, pos, h));
        store_row(k, kv.type(), std::span(s.v).subspan(at, hd), kv.v_head(layer, seq, pos, h));
      }
    }
  });
  if (m == 0) return;
  // From here on only the kept rows: their own batch (positions, sequences, adapters) in that order.
  const Batch& rows = keep ? keep->batch : batch;
  std::optional<LoraRowsScope> kept_adapters;
  if (keep) kept_adapters.emplace(keep->batch.adapters);
  const std::span<float> q = std::span(s.q).first(m * qd), att = std::span(s.att).first(m * qd);
  lora_apply(k, L.lora[kLoraQ], xq, int64_t(m), q);
  add_bias(q, L.bq);
  if (cfg.qk_norm) rmsnorm_rows(k, q, L.q_norm, cfg.norm_eps, hd, q);
  over_rows(m, [&](int64_t r0, int64_t r1) {
    for (size_t r = size_t(r0); r < size_t(r1); ++r) {
      const size_t t = keep ? size_t(keep->index[r]) : r;  // the row's RoPE table row
      for (int h = 0; h < cfg.n_head; ++h) rope_apply(cfg, rt, t, q.subspan(r * qd + h * hd, hd));
    }
  });
  // Prefill: tiles of rows x keys (attention.h). Otherwise (row, kv head) pairs are independent: split them
  // over the pool, one scores buffer per thread, the query heads of a kv head together (each cache row read
  // once for them); a pair's heads split into parts when there are too few pairs to keep every thread busy
  // (the results are the same bits either way).
  if (use_tiled_attention(rows)) {
    attend_tiled(k, cfg, kv, layer, rows, q, att);
  } else {
    const int64_t group = cfg.n_head / cfg.n_head_kv;  // query head h reads kv head h / group
    const int64_t pairs = int64_t(m) * cfg.n_head_kv, want = 4 * int64_t(global_pool().size());
    const int64_t splits = std::clamp((want + pairs - 1) / pairs, int64_t(1), group);  // parts per pair
    const int64_t per = (group + splits - 1) / splits;                                   // heads per part
    const int64_t parts = (group + per - 1) / per;
    const size_t cap = size_t(kv.n_ctx());  // scores of a whole context per head
    global_pool().for_range(pairs * parts, 1, [&](int64_t b, int64_t e) {
      thread_local std::vector<float> scores;  // per thread, kept between calls (no allocation per token)
      if (scores.size() < size_t(per) * cap) scores.resize(size_t(per) * cap);
      for (int64_t i = b; i < e; ++i) {
        const size_t r = size_t(i / (cfg.n_head_kv * parts));
        const int kvh = int(i / parts % cfg.n_head_kv);
        const int64_t h0 = kvh * group + i % parts * per, g = std::min(per, (kvh + 1) * group - h0);
        const int seq = rows.seq_ids[r], pos = rows.positions[r];
        const int lo = cfg.layer_slides(layer) ? std::max(0, pos - cfg.sliding_window + 1) : 0;
        const size_t at = r * qd + size_t(h0) * hd;
        attend_group(k, cfg, kv, layer, seq, lo, pos, kvh, size_t(g), q.data() + at, scores.data(), cap,
                     att.data() + at);
      }
    });
  }
  observe_matmul_input(L.wo, att, int64_t(m));
  kernels::matmul_parallel(k, L.wo, att, int64_t(m), s.o);  // o: (m, dim)
  lora_apply(k, L.lora[kLoraO], att, int64_t(m), s.o);
}

void mlp_block(const kernels::CpuKernels& k, const ModelConfig& cfg, const LayerWeights& L, Scratch& s) {
  const int64_t n = int64_t(s.xn.size() / size_t(cfg.dim));
  observe_matmul_input(L.w_gate, s.xn, n);
  observe_matmul_input(L.w_up, s.xn, n);
  const kernels::MatmulOut gate_up[] = {{&L.w_gate, s.gate}, {&L.w_up, s.up}};  // gate, up: (n, ffn)
  kernels::matmul_parallel_fused(k, gate_up, s.xn, n);
  lora_apply(k, L.lora[kLoraGate], s.xn, n, s.gate);
  lora_apply(k, L.lora[kLoraUp], s.xn, n, s.up);
  const size_t ffn = size_t(cfg.ffn_dim);
  over_rows(size_t(n), [&](int64_t r0, int64_t r1) {  // row by row: a row's bits do not depend on the batch
    for (size_t r = size_t(r0); r < size_t(r1); ++r) {
      const std::span<float> g = std::span(s.gate).subspan(r * ffn, ffn), u = std::span(s.up).subspan(r * ffn, ffn);
      if (cfg.act == Activation::gelu_tanh) {
        k.gelu_tanh_mul(g, u, g);
      } else {
        k.silu_mul(g, u, g);
      }
    }
  });
  observe_matmul_input(L.w_down, s.gate, n);
  kernels::matmul_parallel(k, L.w_down, s.gate, n, s.o);  // o: (n, dim)
  lora_apply(k, L.lora[kLoraDown], s.gate, n, s.o);
}

}  // namespace slm::model
