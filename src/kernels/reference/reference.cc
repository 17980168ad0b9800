// The scalar oracle: obviously correct loops, double accumulation, quantised rows through quant::dequantize.
#include "kernels/reference/reference.h"

#include <algorithm>
#include <cmath>

#include "quant/quant.h"

namespace slm::kernels::reference {

void row_chunk_to_f32(const MatView& w, int64_t r, int64_t c0, std::span<float> dst) {
  const uint8_t* row = w.row(r);
  const int64_t n = int64_t(dst.size());
  switch (w.type) {
    case DType::F32: {
      const float* p = reinterpret_cast<const float*>(row) + c0;
      std::copy(p, p + n, dst.begin());
      return;
    }
    case DType::F16: {
      const f16* p = reinterpret_cast<const f16*>(row) + c0;
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(p[i]);
      return;
    }
    case DType::BF16: {
      const bf16* p = reinterpret_cast<const bf16*>(row) + c0;
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(p[i]);
      return;
    }
    default: {
      const DTypeInfo& d = dtype_info(w.type);
      quant::dequantize(w.type, row + size_t(c0 / d.block_size) * d.block_bytes, dst.data(), n);
    }
  }
}

void row_to_f32(const MatView& w, int64_t r, std::span<float> dst) { row_chunk_to_f32(w, r, 0, dst); }

void matmul(const MatView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  // Dequantise one block-aligned chunk of a weight row at a time into a stack buffer.
  constexpr int64_t kChunk = 1024;
  float buf[kChunk];
  const int64_t bs = dtype_info(w.type).block_size;
  const int64_t step = (kChunk / bs) * bs;
  for (int64_t r = 0; r < w.rows; ++r) {
    for (int64_t t = 0; t < n; ++t) y[t * w.rows + r] = 0.0f;
    for (int64_t c0 = 0; c0 < w.cols; c0 += step) {
      const int64_t len = std::min(step, w.cols - c0);
      row_chunk_to_f32(w, r, c0, std::span<float>(buf, size_t(len)));
      for (int64_t t = 0; t < n; ++t) {
        double acc = 0.0;
        const float* xt = x.data() + t * w.cols + c0;
        for (int64_t i = 0; i < len; ++i) acc += double(buf[i]) * double(xt[i]);
        y[t * w.rows + r] += float(acc);
      }
    }
  }
}

void rmsnorm(std::span<const float> x, std::span<const float> w, float eps, std::span<float> y) {
  double ss = 0.0;
  for (float v : x) ss += double(v) * double(v);
  const double inv = 1.0 / std::sqrt(ss / double(x.size()) + double(eps));
  for (size_t i = 0; i < x.size(); ++i) y[i] = float(double(x[i]) * inv * double(w[i]));
}

float dot(std::span<const float> a, std::span<const float> b) {
  double acc = 0.0;
  for (size_t i = 0; i < a.size(); ++i) acc += double(a[i]) * double(b[i]);
  return float(acc);
}

float dot_f16(std::span<const float> a, const f16* b) {
  double acc = 0.0;
  for (size_t i = 0; i < a.size(); ++i) acc += double(a[i]) * double(f16_to_f32(b[i]));
  return float(acc);
}

void axpy(float a, std::span<const float> x, std::span<float> y) {
  for (size_t i = 0; i < y.size(); ++i) y[i] += a * x[i];
}

void axpy_f16(float a, const f16* x, std::span<float> y) {
  for (size_t i = 0; i < y.size(); ++i) y[i] += a * f16_to_f32(x[i]);
}

void to_f16(std::span<const float> x, f16* y) {
  for (size_t i = 0; i < x.size(); ++i) y[i] = f32_to_f16(x[i]);
}

void add(std::span<const float> x, std::span<float> y) {
  for (size_t i = 0; i < y.size(); ++i) y[i] += x[i];
}

void scale(std::span<float> x, float s) {
  for (float& v : x) v *= s;
}

void softmax(std::span<float> x) {
  if (x.empty()) return;
  const float mx = *std::max_element(x.begin(), x.end());
  double sum = 0.0;
  for (float& v : x) {
    v = float(std::exp(double(v) - double(mx)));
    sum += v;
  }
  for (float& v : x) v = float(double(v) / sum);
}

void softcap(std::span<float> x, float cap) {
  for (float& v : x) v = float(double(cap) * std::tanh(double(v) / double(cap)));
}

void silu_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    out[i] = float(g / (1.0 + std::exp(-g)) * double(up[i]));
  }
}

void gelu_tanh_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  const double k = std::sqrt(2.0 / M_PI);
  for (size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    out[i] = float(0.5 * g * (1.0 + std::tanh(k * (g + 0.044715 * g * g * g))) * double(up[i]));
  }
}

}  // namespace slm::kernels::reference
