// Training blocks: each *_forward next to its *_backward, templated on float (training) and double
// (gradient checks). Activations are row-major (n_tokens, width); weights are (out, in) like GGUF rows.
// Backward passes accumulate (+=) into gradients so several uses of one tensor add up.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/gemm.h"

namespace slm::train {

// Splits [0, n) over the pool (or runs inline). Each output element is owned by one range and summed in a
// fixed order, so results do not depend on the thread count.
template <class F>
void parallel_rows(ThreadPool* pool, int64_t n, F&& fn) {
  if (pool == nullptr || pool->size() == 1 || n < 2) {
    fn(int64_t{0}, n);
    return;
  }
  pool->for_range(n, 1, fn);
}

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  T s[8] = {};  // eight partial sums so the compiler can vectorise without reassociating
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  T r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

template <class T>
void axpy(T a, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// y: (n, out) = x: (n, in) @ w^T (out, in) [+ b]
template <class T>
void matmul_forward(ThreadPool* pool, const T* x, const T* w, const T* b, T* y, int64_t n, int64_t in,
                    int64_t out) {
  gemm_nt(pool, n, out, in, x, in, w, in, y, out, false);
  if (b)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < out; ++o) y[t * out + o] += b[o];
}

// dx (n, in) += dy @ w; dw (out, in) += dy^T @ x; db (out) += sum_t dy. Null outputs are skipped.
template <class T>
void matmul_backward(ThreadPool* pool, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t n,
                     int64_t in, int64_t out) {
  if (dx) gemm_nn(pool, n, in, out, dy, out, w, in, dx, in);
  if (dw) gemm_tn(pool, out, in, n, dy, out, x, in, dw, in);
  if (db)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < out; ++o) db[o] += dy[t * out + o];
}

// y = x * rstd * w per row; rstd (n) is kept for the backward.
template <class T>
void rmsnorm_forward(const T* x, const T* w, T eps, T* y, T* rstd, int64_t n, int64_t d) {
  for (int64_t t = 0; t < n; ++t) {
    const T* xr = x + t * d;
    const T r = T(1) / std::sqrt(dot(xr, xr, d) / T(d) + eps);
    rstd[t] = r;
    for (int64_t i = 0; i < d; ++i) y[t * d + i] = xr[i] * r * w[i];
  }
}

// dx_i += r w_i dy_i - x_i r^3 / d * sum_j dy_j w_j x_j; dw_i += dy_i x_i r (dw may be null)
template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw, int64_t n, int64_t d) {
  for (int64_t t = 0; t < n; ++t) {
    const T *xr = x + t * d, *dyr = dy + t * d;
    const T r = rstd[t];
    T s = 0;
    for (int64_t i = 0; i < d; ++i) s += dyr[i] * w[i] * xr[i];
    const T c = s * r * r * r / T(d);
    for (int64_t i = 0; i < d; ++i) {
      dx[t * d + i] += r * w[i] * dyr[i] - xr[i] * c;
      if (dw) dw[i] += dyr[i] * xr[i] * r;
    }
  }
}

// RoPE on every head of x: (n, n_heads * head_dim). cs: (n, rope_dim/2) cos and sin per row; pairs are
// (2i, 2i+1) when `adjacent` (GGUF llama) else (i, i + rope_dim/2) (neox). inverse rotates back (backward).
template <class T>
void rope_apply(T* x, const T* cos, const T* sin, int64_t n, int n_heads, int head_dim, int rope_dim,
                bool adjacent, bool inverse) {
  const int h = rope_dim / 2;
  for (int64_t t = 0; t < n; ++t)
    for (int hd = 0; hd < n_heads; ++hd) {
      T* v = x + (t * n_heads + hd) * head_dim;
      for (int i = 0; i < h; ++i) {
        T& a = v[adjacent ? 2 * i : i];
        T& b = v[adjacent ? 2 * i + 1 : i + h];
        const T c = cos[t * h + i], s = inverse ? -sin[t * h + i] : sin[t * h + i];
        const T x0 = a, x1 = b;
        a = x0 * c - x1 * s;
        b = x0 * s + x1 * c;
      }
    }
}

struct AttnShape {
  int64_t n;  // tokens of one sequence, causal
  int n_head, n_head_kv, head_dim;
  double scale;
  double softcap = 0;  // gemma2: scores -> cap * tanh(scores / cap); 0 = off
  int64_t window = 0;  // sliding window: key j visible from query i iff i - j < window; 0 = off
  int64_t lo(int64_t i) const { return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0; }
};

// q: (n, H*hd), k, v: (n, Hkv*hd) -> out: (n, H*hd); p: (H, n, n) softmax probabilities kept.
template <class T>
void attention_forward(ThreadPool* pool, const AttnShape& s, const T* q, const T* k, const T* v, T* p, T* out) {
  const int64_t n = s.n, hd = s.head_dim, qd = int64_t(s.n_head) * hd, kd = int64_t(s.n_head_kv) * hd;
  const int group = s.n_head / s.n_head_kv;
  parallel_rows(pool, int64_t(s.n_head) * n, [&](int64_t b, int64_t e) {
    for (int64_t job = b; job < e; ++job) {
      const int64_t h = job / n, i = job % n, kh = h / group;
      T* pr = p + (h * n + i) * n;
      T mx = -INFINITY;
      const int64_t lo = s.lo(i);
      for (int64_t j = lo; j <= i; ++j) {
        pr[j] = dot(q + i * qd + h * hd, k + j * kd + kh * hd, hd) * T(s.scale);
        if (s.softcap > 0) pr[j] = T(s.softcap) * std::tanh(pr[j] / T(s.softcap));
        mx = std::max(mx, pr[j]);
      }
      T sum = 0;
      for (int64_t j = lo; j <= i; ++j) sum += (pr[j] = std::exp(pr[j] - mx));
      for (int64_t j = lo; j <= i; ++j) pr[j] /= sum;
      for (int64_t j = 0; j < lo; ++j) pr[j] = 0;
      for (int64_t j = i + 1; j < n; ++j) pr[j] = 0;
      T* o = out + i * qd + h * hd;
      for (int64_t d = 0; d < hd; ++d) o[d] = 0;
      for (int64_t j = lo; j <= i; ++j) axpy(pr[j], v + j * kd + kh * hd, o, hd);
    }
  });
}

// dq += ..., dk += ..., dv += ... given dout. dk/dv of one kv head gather from all query heads of its group:
// parallel over kv heads so each gradient row has one writer.
template <class T>
void attention_backward(ThreadPool* pool, const AttnShape& s, const T* q, const T* k, const T* v, const T* p,
                        const T* dout, T* dq, T* dk, T* dv) {
  const int64_t n = s.n, hd = s.head_dim, qd = int64_t(s.n_head) * hd, kd = int64_t(s.n_head_kv) * hd;
  const int group = s.n_head / s.n_head_kv;
  parallel_rows(pool, s.n_head_kv, [&](int64_t b, int64_t e) {
    std::vector<T> ds(static_cast<size_t>(n));
    for (int64_t kh = b; kh < e; ++kh)
      for (int64_t h = kh * group; h < (kh + 1) * group; ++h)
        for (int64_t i = 0; i < n; ++i) {
          const T* pr = p + (h * n + i) * n;
          const T* dor = dout + i * qd + h * hd;
          T acc = 0;
          for (int64_t j = 0; j <= i; ++j) {
            ds[size_t(j)] = dot(dor, v + j * kd + kh * hd, hd);  // dP
            acc += pr[j] * ds[size_t(j)];
            axpy(pr[j], dor, dv + j * kd + kh * hd, hd);
          }
          for (int64_t j = 0; j <= i; ++j) {
            T g = pr[j] * (ds[size_t(j)] - acc) * T(s.scale);  // dScore
            if (s.softcap > 0 && g != T(0)) {  // d cap*tanh(r/cap) / dr = 1 - tanh^2, r recomputed
              const T th = std::tanh(dot(q + i * qd + h * hd, k + j * kd + kh * hd, hd) * T(s.scale / s.softcap));
              g *= T(1) - th * th;
            }
            axpy(g, k + j * kd + kh * hd, dq + i * qd + h * hd, hd);
            axpy(g, q + i * qd + h * hd, dk + j * kd + kh * hd, hd);
          }
        }
  });
}

// Gated activation: h = act(g) * u, act = silu or gelu (tanh approximation).
template <class T>
void glu_forward(const T* g, const T* u, T* h, int64_t n, bool gelu) {
  const T c = T(0.7978845608028654);  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) {
    const T x = g[i];
    const T a = gelu ? T(0.5) * x * (T(1) + std::tanh(c * (x + T(0.044715) * x * x * x)))
                     : x / (T(1) + std::exp(-x));
    h[i] = a * u[i];
  }
}

template <class T>
void glu_backward(const T* g, const T* u, const T* dh, T* dg, T* du, int64_t n, bool gelu) {
  const T c = T(0.7978845608028654);
  for (int64_t i = 0; i < n; ++i) {
    const T x = g[i];
    T a, da;
    if (gelu) {
      const T th = std::tanh(c * (x + T(0.044715) * x * x * x));
      a = T(0.5) * x * (T(1) + th);
      da = T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * c * (T(1) + T(3 * 0.044715) * x * x);
    } else {
      const T sg = T(1) / (T(1) + std::exp(-x));
      a = x * sg;
      da = sg * (T(1) + x * (T(1) - sg));
    }
    dg[i] += dh[i] * u[i] * da;
    du[i] += dh[i] * a;
  }
}

// Cross-entropy over rows with weights: loss = sum_t w_t * (lse_t - logit[t, y_t]). logits are replaced
// by d loss / d logits scaled by `grad_scale`. Returns the weighted sum (not averaged).
template <class T>
double cross_entropy_forward_backward(T* logits, const int32_t* targets, const float* weights, int64_t n,
                                      int64_t vocab, T grad_scale) {
  double loss = 0;
  for (int64_t t = 0; t < n; ++t) {
    T* z = logits + t * vocab;
    const T w = T(weights[t]);
    T mx = z[0];
    for (int64_t i = 1; i < vocab; ++i) mx = std::max(mx, z[i]);
    T sum = 0;
    for (int64_t i = 0; i < vocab; ++i) sum += std::exp(z[i] - mx);
    const T lse = mx + std::log(sum);
    if (w != T(0)) loss += double(w) * double(lse - z[targets[t]]);
    for (int64_t i = 0; i < vocab; ++i) z[i] = w * grad_scale * std::exp(z[i] - lse);
    z[targets[t]] -= w * grad_scale;
  }
  return loss;
}

// Distillation per row t with weight w_t: alpha * T^2 * KL(q_t || softmax(z_t / T)) + (1 - alpha) * CE(z_t, y_t),
// q_t: k (id, probability) pairs of the teacher summing to 1 (ids distinct). logits are replaced by
// d loss / d logits scaled by grad_scale. Returns the weighted loss sum; *kl_sum gets the weighted KL sum.
template <class T>
double distill_forward_backward(T* logits, const int32_t* targets, const float* weights, const int32_t* q_ids,
                                const float* q_p, int k, int64_t n, int64_t vocab, double alpha, double temp,
                                T grad_scale, double* kl_sum) {
  double loss = 0, kl = 0;
  const T a = T(alpha), tt = T(temp);
  for (int64_t t = 0; t < n; ++t) {
    T* z = logits + t * vocab;
    const int32_t* ids = q_ids + t * k;
    const float* q = q_p + t * k;
    const T w = T(weights[t]);
    T mx = z[0];
    for (int64_t i = 1; i < vocab; ++i) mx = std::max(mx, z[i]);
    T sum = 0, sum_t = 0;
    for (int64_t i = 0; i < vocab; ++i) sum += std::exp(z[i] - mx), sum_t += std::exp((z[i] - mx) / tt);
    const T lse = mx + std::log(sum), lse_t = mx / tt + std::log(sum_t);  // of z and of z / T
    T kl_t = 0;
    for (int j = 0; j < k; ++j)
      if (q[j] > 0) kl_t += T(q[j]) * (std::log(T(q[j])) - (z[ids[j]] / tt - lse_t));
    if (w != T(0)) {
      loss += double(w) * double(a * tt * tt * kl_t + (T(1) - a) * (lse - z[targets[t]]));
      kl += double(w) * double(kl_t);
    }
    const T s = w * grad_scale;
    for (int64_t i = 0; i < vocab; ++i)
      z[i] = s * ((T(1) - a) * std::exp(z[i] - lse) + a * tt * std::exp(z[i] / tt - lse_t));
    z[targets[t]] -= s * (T(1) - a);
    for (int j = 0; j < k; ++j) z[ids[j]] -= s * a * tt * T(q[j]);
  }
  if (kl_sum) *kl_sum = kl;
  return loss;
}

}  // namespace slm::train
