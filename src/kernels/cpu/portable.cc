// The portable kernel table (Isa::scalar): float accumulation in 8 independent lanes so that the compiler
// can vectorise without -m flags; quantised rows are dequantised chunk by chunk into a stack buffer.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "kernels/cpu/tables.h"
#include "kernels/reference/reference.h"

namespace slm::kernels::cpu {
namespace {

constexpr int kLanes = 8;

// f16 -> f32 through a 256 KiB table built once: the bit-manipulating conversion costs more than the
// multiply-add it feeds when there is no hardware conversion (no -mf16c in the portable table).
struct F16Table {
  float v[65536];
  F16Table() {
    for (uint32_t i = 0; i < 65536; ++i) v[i] = f16_to_f32(f16{uint16_t(i)});
  }
};
const float* f16_table() {
  static const F16Table t;
  return t.v;
}

inline float h2f(const float* tab, f16 h) { return tab[h.bits]; }

// Elements [c0, c0 + n) of row r as floats; F16 through the table, other types through the reference.
void row_chunk(const MatView& w, int64_t r, int64_t c0, int64_t n, float* dst) {
  if (w.type == DType::F16) {
    const float* tab = f16_table();
    const f16* p = reinterpret_cast<const f16*>(w.row(r)) + c0;
    for (int64_t i = 0; i < n; ++i) dst[i] = h2f(tab, p[i]);
    return;
  }
  reference::row_chunk_to_f32(w, r, c0, std::span<float>(dst, size_t(n)));
}

float dot_lanes(const float* a, const float* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  float s = tail;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

void matmul(const MatView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  if (w.type == DType::F32) {
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* wr = reinterpret_cast<const float*>(w.row(r));
      for (int64_t t = 0; t < n; ++t) y[t * w.rows + r] = dot_lanes(wr, x.data() + t * w.cols, w.cols);
    }
    return;
  }
  constexpr int64_t kChunk = 2048;
  float buf[kChunk];
  const int64_t bs = dtype_info(w.type).block_size;
  const int64_t step = (kChunk / bs) * bs;
  for (int64_t r = 0; r < w.rows; ++r) {
    if (w.cols <= step) {  // the whole row fits: one dequantisation, one dot per token
      row_chunk(w, r, 0, w.cols, buf);
      for (int64_t t = 0; t < n; ++t) y[t * w.rows + r] = dot_lanes(buf, x.data() + t * w.cols, w.cols);
      continue;
    }
    for (int64_t t = 0; t < n; ++t) y[t * w.rows + r] = 0.0f;
    for (int64_t c0 = 0; c0 < w.cols; c0 += step) {
      const int64_t len = std::min(step, w.cols - c0);
      row_chunk(w, r, c0, len, buf);
      for (int64_t t = 0; t < n; ++t) y[t * w.rows + r] += dot_lanes(buf, x.data() + t * w.cols + c0, len);
    }
  }
}

void rmsnorm(std::span<const float> x, std::span<const float> w, float eps, std::span<float> y) {
  const float ss = dot_lanes(x.data(), x.data(), int64_t(x.size()));
  const float inv = 1.0f / std::sqrt(ss / float(x.size()) + eps);
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
}

float dot(std::span<const float> a, std::span<const float> b) {
  return dot_lanes(a.data(), b.data(), int64_t(a.size()));
}

float dot_f16(std::span<const float> a, const f16* b) {
  const float* tab = f16_table();
  float acc[kLanes] = {};
  const size_t n = a.size();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * h2f(tab, b[i + l]);
  float s = 0.0f;
  for (; i < n; ++i) s += a[i] * h2f(tab, b[i]);
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

void axpy(float a, std::span<const float> x, std::span<float> y) {
  for (size_t i = 0; i < y.size(); ++i) y[i] += a * x[i];
}

void axpy_f16(float a, const f16* x, std::span<float> y) {
  const float* tab = f16_table();
  for (size_t i = 0; i < y.size(); ++i) y[i] += a * h2f(tab, x[i]);
}

void row_to_f32(const MatView& w, int64_t r, std::span<float> dst) {
  row_chunk(w, r, 0, int64_t(dst.size()), dst.data());
}

void softmax(std::span<float> x) {
  if (x.empty()) return;
  const float mx = *std::max_element(x.begin(), x.end());
  float sum = 0.0f;
  for (float& v : x) {
    v = std::exp(v - mx);
    sum += v;
  }
  const float inv = 1.0f / sum;
  for (float& v : x) v *= inv;
}

// exp(v) for v <= 88: 2^n * p(r), n = round(v / ln 2), r = v - n ln 2 (|r| <= 0.35), p the degree-6 Taylor
// polynomial (relative error ~1.2e-7 plus rounding). No calls or branches, so the first loop vectorises;
// the sum stays in order in a second one.
float exp_sum(std::span<float> x, float shift) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  for (float& v : x) {
    // max(v - shift, -87) on the bits: above 0xC2AE0000 (-87.0f) lie exactly the floats below -87 (and -inf,
    // negative NaN); a float max would be a branch here and stop the vectoriser.
    const uint32_t b = std::bit_cast<uint32_t>(v - shift);
    const float t = std::bit_cast<float>(std::min(b, 0xC2AE0000u));
    const float n = (t * 1.44269504f + kRound) - kRound;
    const float r = (t - n * 0.693145752f) - n * 1.42860682e-6f;  // ln 2 split so n * hi is exact
    const float p =
        ((((((1.0f / 720.0f) * r + 1.0f / 120.0f) * r + 1.0f / 24.0f) * r + 1.0f / 6.0f) * r + 0.5f) * r + 1.0f) * r +
        1.0f;
    v = p * std::bit_cast<float>((int32_t(n) + 127) << 23);
  }
  float sum = 0.0f;
  for (float v : x) sum += v;
  return sum;
}

int64_t argmax(std::span<const float> x) {
  size_t best = 0;
  float m = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] > m) m = x[i], best = i;  // NaN compares false: never taken
  }
  return int64_t(best);
}

float max(std::span<const float> x) {
  float m = -std::numeric_limits<float>::infinity();
  for (float v : x) m = v > m ? v : m;  // NaN compares false
  return m;
}

void softcap(std::span<float> x, float cap) {
  const float inv = 1.0f / cap;
  for (float& v : x) v = cap * std::tanh(v * inv);
}

void silu_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_tanh_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  constexpr float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (size_t i = 0; i < out.size(); ++i) {
    const float g = gate[i];
    out[i] = 0.5f * g * (1.0f + std::tanh(k * (g + 0.044715f * g * g * g))) * up[i];
  }
}

constexpr CpuKernels kTable = {
    .isa = Isa::scalar,
    .matmul = matmul,
    .row_to_f32 = row_to_f32,
    .rmsnorm = rmsnorm,
    .dot = dot,
    .dot_f16 = dot_f16,
    .axpy = axpy,
    .axpy_f16 = axpy_f16,
    .to_f16 = reference::to_f16,
    .add = reference::add,
    .scale = reference::scale,
    .softmax = softmax,
    .softcap = softcap,
    .silu_mul = silu_mul,
    .gelu_tanh_mul = gelu_tanh_mul,
    .act_bytes = nullptr,  // no split matmul: matmul_parallel runs matmul on one thread
    .prepare_act = nullptr,
    .matmul_rows = nullptr,
    .can_pack = nullptr,  // no repacked layouts: weights are read as stored
    .pack = nullptr,
    .dot_f16_rows = nullptr,  // callers loop over dot_f16 / axpy_f16
    .axpy_f16_rows = nullptr,
    .argmax = argmax,
    .max = max,
    .exp_sum = exp_sum,
};

}  // namespace

const CpuKernels& portable_table() { return kTable; }

}  // namespace slm::kernels::cpu
