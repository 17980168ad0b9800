// The test-only reference forward: one loop nest per HF module, double everywhere.
#include "model/reference_forward.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "common/nmse.h"
#include "core/f16.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "quant/quant.h"

namespace slm::testing {
namespace {

using Vec = std::vector<double>;

struct Mat {
  int64_t rows = 0, cols = 0;
  Vec w;  // (rows, cols)
};

Mat load(const gguf::File& f, const std::string& name) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (!t) throw std::runtime_error("reference: missing " + name);
  Mat m;
  m.cols = t->ne[0];
  m.rows = t->n_elements() / m.cols;
  const auto bytes = f.tensor_data(*t);
  const int64_t n = t->n_elements();
  std::vector<float> tmp(static_cast<size_t>(n));
  if (t->type == DType::F32) {
    std::memcpy(tmp.data(), bytes.data(), size_t(n) * 4);
  } else if (t->type == DType::F16) {
    for (int64_t i = 0; i < n; ++i) tmp[i] = f16_to_f32(reinterpret_cast<const f16*>(bytes.data())[i]);
  } else if (t->type == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) tmp[i] = bf16_to_f32(reinterpret_cast<const bf16*>(bytes.data())[i]);
  } else {
    quant::dequantize(t->type, bytes.data(), tmp.data(), n);
  }
  m.w.assign(tmp.begin(), tmp.end());
  return m;
}

Mat rows_of(const Mat& m, int64_t r0, int64_t n) {
  Mat o{n, m.cols, Vec(m.w.begin() + r0 * m.cols, m.w.begin() + (r0 + n) * m.cols)};
  return o;
}

Vec matvec(const Mat& m, const Vec& x) {  // y = W x
  Vec y(static_cast<size_t>(m.rows));
  for (int64_t r = 0; r < m.rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < m.cols; ++c) s += m.w[r * m.cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

Vec rmsnorm(const Vec& x, const Vec& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
  return y;
}

// Rotates one head in place: normal = adjacent pairs, neox = halves.
void rope(Vec& v, size_t off, const model::ModelConfig& c, int pos, const Vec& divisors) {
  const int half = c.rope_dim / 2;
  for (int i = 0; i < half; ++i) {
    double theta = pos * std::pow(double(c.rope_theta), -2.0 * i / c.rope_dim);
    if (!divisors.empty()) theta /= divisors[i];
    const size_t a = off + (c.rope_style == model::RopeStyle::normal ? 2 * i : i);
    const size_t b = a + (c.rope_style == model::RopeStyle::normal ? 1 : half);
    const double x0 = v[a], x1 = v[b];
    v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
    v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
  }
}

std::string blk(int l, const char* s) { return "blk." + std::to_string(l) + "." + s; }

}  // namespace

std::vector<double> reference_forward(const gguf::File& f, const model::ModelConfig& c,
                                      std::span<const int32_t> tokens) {
  const int T = int(tokens.size()), D = c.dim, hd = c.head_dim, H = c.n_head, KVH = c.n_head_kv;
  const Mat emb = load(f, "token_embd.weight");
  const Mat out = f.find_tensor("output.weight") ? load(f, "output.weight") : emb;
  const Vec divisors = f.find_tensor("rope_freqs.weight") ? load(f, "rope_freqs.weight").w : Vec{};
  std::vector<Vec> x(static_cast<size_t>(T));
  for (int t = 0; t < T; ++t) {
    x[t] = Vec(emb.w.begin() + int64_t(tokens[t]) * D, emb.w.begin() + int64_t(tokens[t] + 1) * D);
    for (double& v : x[t]) v *= c.embed_scale;
  }
  const double scale = c.query_scale > 0 ? c.query_scale : 1.0 / std::sqrt(double(hd));
  for (int l = 0; l < c.n_layer; ++l) {
    Mat wq, wk, wv, wg, wu;
    if (f.find_tensor(blk(l, "attn_qkv.weight"))) {
      const Mat qkv = load(f, blk(l, "attn_qkv.weight"));
      wq = rows_of(qkv, 0, H * hd), wk = rows_of(qkv, H * hd, KVH * hd), wv = rows_of(qkv, (H + KVH) * hd, KVH * hd);
    } else {
      wq = load(f, blk(l, "attn_q.weight")), wk = load(f, blk(l, "attn_k.weight")), wv = load(f, blk(l, "attn_v.weight"));
    }
    if (f.find_tensor(blk(l, "ffn_gate.weight"))) {
      wg = load(f, blk(l, "ffn_gate.weight")), wu = load(f, blk(l, "ffn_up.weight"));
    } else {
      const Mat gu = load(f, blk(l, "ffn_up.weight"));
      wg = rows_of(gu, 0, gu.rows / 2), wu = rows_of(gu, gu.rows / 2, gu.rows / 2);
    }
    const Mat wo = load(f, blk(l, "attn_output.weight")), wd = load(f, blk(l, "ffn_down.weight"));
    const Vec an = load(f, blk(l, "attn_norm.weight")).w, fn = load(f, blk(l, "ffn_norm.weight")).w;
    std::vector<Vec> q(T), k(T), v(T);
    for (int t = 0; t < T; ++t) {
      const Vec xn = rmsnorm(x[t], an, c.norm_eps);
      q[t] = matvec(wq, xn), k[t] = matvec(wk, xn), v[t] = matvec(wv, xn);
      if (c.qkv_bias) {
        const Vec bq = load(f, blk(l, "attn_q.bias")).w, bk = load(f, blk(l, "attn_k.bias")).w,
                  bv = load(f, blk(l, "attn_v.bias")).w;
        for (size_t i = 0; i < bq.size(); ++i) q[t][i] += bq[i];
        for (size_t i = 0; i < bk.size(); ++i) k[t][i] += bk[i], v[t][i] += bv[i];
      }
      for (int h = 0; h < H; ++h) {
        if (c.qk_norm) {
          const Vec qn = load(f, blk(l, "attn_q_norm.weight")).w;
          const Vec hq = rmsnorm(Vec(q[t].begin() + h * hd, q[t].begin() + (h + 1) * hd), qn, c.norm_eps);
          std::copy(hq.begin(), hq.end(), q[t].begin() + h * hd);
        }
        rope(q[t], size_t(h * hd), c, t, divisors);
      }
      for (int h = 0; h < KVH; ++h) {
        if (c.qk_norm) {
          const Vec kn = load(f, blk(l, "attn_k_norm.weight")).w;
          const Vec hk = rmsnorm(Vec(k[t].begin() + h * hd, k[t].begin() + (h + 1) * hd), kn, c.norm_eps);
          std::copy(hk.begin(), hk.end(), k[t].begin() + h * hd);
        }
        rope(k[t], size_t(h * hd), c, t, divisors);
      }
    }
    const bool slide = c.sliding_window > 0 && (c.sliding_layer_period == 0 || l % c.sliding_layer_period == 0);
    for (int t = 0; t < T; ++t) {
      Vec att(static_cast<size_t>(H * hd), 0.0);
      for (int h = 0; h < H; ++h) {
        const int kh = h / (H / KVH);
        std::vector<double> s;
        for (int j = 0; j <= t; ++j) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][kh * hd + i];
          d *= scale;
          if (c.attn_softcap > 0) d = c.attn_softcap * std::tanh(d / c.attn_softcap);
          if (slide && t - j >= c.sliding_window) d = -INFINITY;
          s.push_back(d);
        }
        double mx = -INFINITY, sum = 0;
        for (double d : s) mx = std::max(mx, d);
        for (double& d : s) sum += (d = std::exp(d - mx));
        for (int j = 0; j <= t; ++j)
          for (int i = 0; i < hd; ++i) att[h * hd + i] += s[j] / sum * v[j][kh * hd + i];
      }
      Vec o = matvec(wo, att);
      if (c.post_norms) o = rmsnorm(o, load(f, blk(l, "post_attention_norm.weight")).w, c.norm_eps);
      for (int i = 0; i < D; ++i) x[t][i] += o[i];
      const Vec xn = rmsnorm(x[t], fn, c.norm_eps);
      Vec g = matvec(wg, xn);
      const Vec u = matvec(wu, xn);
      for (size_t i = 0; i < g.size(); ++i) {
        const double a = g[i];
        g[i] = (c.act == model::Activation::silu
                    ? a / (1 + std::exp(-a))
                    : 0.5 * a * (1 + std::tanh(std::sqrt(2 / M_PI) * (a + 0.044715 * a * a * a)))) * u[i];
      }
      Vec m = matvec(wd, g);
      if (c.post_norms) m = rmsnorm(m, load(f, blk(l, "post_ffw_norm.weight")).w, c.norm_eps);
      for (int i = 0; i < D; ++i) x[t][i] += m[i];
    }
  }
  const Vec on = load(f, "output_norm.weight").w;
  std::vector<double> logits;
  for (int t = 0; t < T; ++t) {
    const Vec lg = matvec(out, rmsnorm(x[t], on, c.norm_eps));
    for (double z : lg) logits.push_back(c.final_softcap > 0 ? c.final_softcap * std::tanh(z / c.final_softcap) : z);
  }
  return logits;
}

bool int8_activations(DType t) {
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  return !kernels::matmul_test::float_type(t) && k.act_bytes != nullptr && k.act_bytes(t, 256) > 0;
}

double engine_vs_reference_bound(std::span<const DType> weight_types) {
  for (DType t : weight_types)
    if (int8_activations(t)) return 2e-3;
  return 1e-10;
}

double engine_vs_reference_bound(const gguf::File& f) {
  std::vector<DType> types;
  for (const gguf::TensorInfo& t : f.tensors()) types.push_back(t.type);
  return engine_vs_reference_bound(types);
}

// Both overloads measure a against the reference b.
double nmse(std::span<const float> a, std::span<const float> b) { return nmse_vs(b, a); }
double nmse(std::span<const float> a, std::span<const double> b) { return nmse_vs(b, a); }

}  // namespace slm::testing
