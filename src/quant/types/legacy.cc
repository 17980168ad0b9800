// Legacy 32-element blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (and Q8_1, the activation format for Q4_1/Q5_1
// dot products). Without an imatrix the quantisers are the
// format's reference rounding (one scale from the block's extreme value, codes by truncation after a
// half offset), which reproduces llama.cpp's files byte for byte; with an imatrix they search their
// scale (and offset) for the least weighted error instead.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/types/search.h"
#include "quant/types/types.h"

namespace slm::quant::detail {
namespace {

// C's float -> int truncation for values known to be in range; NaN and overflow give 0 / the clamp.
int trunc_int(float v) {
  if (!(v > -1e9f && v < 1e9f)) return 0;
  return int(v);
}

// f16 rounding that saturates at the largest finite half instead of overflowing to inf (only rows with
// values beyond about 5e5 differ from the plain conversion).
f16 to_f16_sat(float v) { return f32_to_f16(std::clamp(v, -65504.0f, 65504.0f)); }

struct Extremes {
  float amax = 0;  // largest |x|
  float max = 0;   // the x with that magnitude, signed (the first one found)
  float lo = 0;
  float hi = 0;
};

Extremes extremes(const float* x) {
  Extremes e{0, 0, x[0], x[0]};
  for (int j = 0; j < kQK; ++j) {
    if (e.amax < std::fabs(x[j])) {
      e.amax = std::fabs(x[j]);
      e.max = x[j];
    }
    e.lo = std::min(e.lo, x[j]);
    e.hi = std::max(e.hi, x[j]);
  }
  return e;
}

void pack_nibbles(const uint8_t* q, uint8_t* qs) {  // q[j] low nibble, q[j+16] high nibble
  for (int j = 0; j < kQK / 2; ++j) qs[j] = uint8_t((q[j] & 15) | ((q[j + 16] & 15) << 4));
}

void pack_high_bits(const uint8_t* q, uint8_t* qh) {  // bit 4 of q[j] -> bit j of the u32
  uint32_t h = 0;
  for (int j = 0; j < kQK; ++j) h |= uint32_t((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Symmetric block with reference rounding: d = max / -half, q = min(2*half - 1, trunc(x / d + half + 0.5)).
float ref_sym(const float* x, int half, uint8_t* q) {
  const Extremes e = extremes(x);
  const float d = e.max / float(-half);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) q[j] = uint8_t(std::min(2 * half - 1, trunc_int(x[j] * id + (float(half) + 0.5f))));
  return d;
}

// Affine block with reference rounding: d = (max - min) / nmax, q = trunc((x - min) / d + 0.5).
float ref_affine(const float* x, int nmax, uint8_t* q, float* min) {
  const Extremes e = extremes(x);
  const float d = (e.hi - e.lo) / float(nmax);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) q[j] = uint8_t(std::min(nmax, trunc_int((x[j] - e.lo) * id + 0.5f)));
  *min = e.lo;
  return d;
}

// Weighted search for symmetric types (imatrix given): codes are level indices, lo = -half.
f16 search_sym(const float* x, const float* imatrix, int lo, int hi, uint8_t* q) {
  float w[kQK];
  block_weights(imatrix, x, kQK, w);
  return quantize_block_sym(x, w, kQK, Grid{.lo = lo, .hi = hi}, q);
}

// Weighted search for affine types (imatrix given), starting from the reference rounding in d, m, q.
void search_affine(const float* x, const float* imatrix, int nmax, f16* d, f16* m, uint8_t* q) {
  float w[kQK];
  block_weights(imatrix, x, kQK, w);
  quantize_block_affine(x, w, kQK, nmax, d, m, q);
}

}  // namespace

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
  const BlockQ4_0* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = float(int(b[i].qs[j] & 15) - 8) * d;
      dst[j + 16] = float(int(b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_q4_0(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ4_0* b = static_cast<BlockQ4_0*>(dst);
  uint8_t q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    b[i].d = imatrix ? search_sym(src, imatrix + i * kQK, -8, 7, q) : to_f16_sat(ref_sym(src, 8, q));
    pack_nibbles(q, b[i].qs);
  }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
  const BlockQ4_1* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = float(b[i].qs[j] & 15) * d + m;
      dst[j + 16] = float(b[i].qs[j] >> 4) * d + m;
    }
  }
}

void quantize_q4_1(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ4_1* b = static_cast<BlockQ4_1*>(dst);
  uint8_t q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    float min;
    b[i].d = to_f16_sat(ref_affine(src, 15, q, &min));
    b[i].m = to_f16_sat(min);
    if (imatrix) search_affine(src, imatrix + i * kQK, 15, &b[i].d, &b[i].m, q);
    pack_nibbles(q, b[i].qs);
  }
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
  const BlockQ5_0* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = f16_to_f32(b[i].d);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int h0 = int((qh >> j) & 1) << 4, h1 = int((qh >> (j + 16)) & 1) << 4;
      dst[j] = float(((b[i].qs[j] & 15) | h0) - 16) * d;
      dst[j + 16] = float(((b[i].qs[j] >> 4) | h1) - 16) * d;
    }
  }
}

void quantize_q5_0(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ5_0* b = static_cast<BlockQ5_0*>(dst);
  uint8_t q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    b[i].d = imatrix ? search_sym(src, imatrix + i * kQK, -16, 15, q) : to_f16_sat(ref_sym(src, 16, q));
    pack_nibbles(q, b[i].qs);
    pack_high_bits(q, b[i].qh);
  }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
  const BlockQ5_1* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int h0 = int((qh >> j) & 1) << 4, h1 = int((qh >> (j + 16)) & 1) << 4;
      dst[j] = float((b[i].qs[j] & 15) | h0) * d + m;
      dst[j + 16] = float((b[i].qs[j] >> 4) | h1) * d + m;
    }
  }
}

void quantize_q5_1(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ5_1* b = static_cast<BlockQ5_1*>(dst);
  uint8_t q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    float min;
    b[i].d = to_f16_sat(ref_affine(src, 31, q, &min));
    b[i].m = to_f16_sat(min);
    if (imatrix) search_affine(src, imatrix + i * kQK, 31, &b[i].d, &b[i].m, q);
    pack_nibbles(q, b[i].qs);
    pack_high_bits(q, b[i].qh);
  }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = float(b[i].qs[j]) * d;
  }
}

// d = amax / 127, q = round-half-away(x / d).
void quantize_q8_0(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ8_0* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    if (imatrix) {
      uint8_t q[kQK];
      b[i].d = search_sym(src, imatrix + i * kQK, -127, 127, q);
      for (int j = 0; j < kQK; ++j) b[i].qs[j] = int8_t(int(q[j]) - 127);
      continue;
    }
    const float d = extremes(src).amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = to_f16_sat(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = int8_t(std::clamp(trunc_int(std::round(src[j] * id)), -127, 127));
  }
}

void dequantize_q8_1(const void* src, float* dst, int64_t n) {
  const BlockQ8_1* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = float(b[i].qs[j]) * d;
  }
}

// As Q8_0, plus s = d * sum(q) for the min term of Q4_1/Q5_1 dot products.
void quantize_q8_1(const float* src, void* dst, int64_t n, const float*) {
  BlockQ8_1* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const float d = extremes(src).amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      b[i].qs[j] = int8_t(std::clamp(trunc_int(std::round(src[j] * id)), -127, 127));
      sum += b[i].qs[j];
    }
    b[i].d = to_f16_sat(d);
    b[i].s = to_f16_sat(float(sum) * d);
  }
}

}  // namespace slm::quant::detail
