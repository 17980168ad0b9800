// K-quants with 256-element super-blocks and 32- or 16-element sub-blocks: Q4_K, Q5_K, Q6_K and Q8_K.
// Quantisers search scales for the least (imatrix-weighted) squared error; see search.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/types/search.h"
#include "quant/types/types.h"

namespace slm::quant::detail {
namespace {

// 8 six-bit scales and 8 six-bit mins in 12 bytes: for j < 4 the low 6 bits of s[j] (scale) and s[j+4]
// (min); for j >= 4 the nibbles of s[j+4] (scale low, min low) and the top 2 bits of s[j-4] and s[j].
void scale_min_k4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void pack_scale_min_k4(const int* sc, const int* m, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 4; ++j) {
    s[j] = uint8_t(sc[j]);
    s[j + 4] = uint8_t(m[j]);
  }
  for (int j = 4; j < 8; ++j) {
    s[j + 4] = uint8_t((sc[j] & 15) | ((m[j] & 15) << 4));
    s[j - 4] |= uint8_t((sc[j] >> 4) << 6);
    s[j] |= uint8_t((m[j] >> 4) << 6);
  }
}

// Q4_K / Q5_K decode: y = (d * sc) * q - dmin * m; q's low nibble from qs, bit 4 from qh (Q5_K).
void decode_k4(float d, float dmin, const uint8_t* scales, const uint8_t* qs, const uint8_t* qh, float* y) {
  for (int i = 0; i < kQKK; ++i) {
    int sc, m;
    scale_min_k4(i / 32, scales, &sc, &m);
    const int r = i % 64;
    int q = (r < 32 ? qs[32 * (i / 64) + r] & 15 : qs[32 * (i / 64) + r - 32] >> 4);
    if (qh) q |= ((qh[i % 32] >> (i / 32)) & 1) << 4;
    y[i] = d * float(sc) * float(q) - dmin * float(m);
  }
}

void quantize_k4(const float* x, const float* imatrix, int nmax, f16* d, f16* dmin, uint8_t* scales,
                 uint8_t* qs, uint8_t* qh) {
  float w[kQKK];
  block_weights(imatrix, x, kQKK, w);
  int sc[8], mc[8];
  uint8_t L[kQKK];
  const AffineCodes c = quantize_super_affine(x, w, AffinePlan{.nsub = 8, .len = 32, .nmax = nmax, .cmax = 63},
                                              sc, mc, L);
  *d = c.d;
  *dmin = c.dmin;
  pack_scale_min_k4(sc, mc, scales);
  std::memset(qs, 0, kQKK / 2);
  if (qh) std::memset(qh, 0, kQKK / 8);
  for (int i = 0; i < kQKK; ++i) {
    const int r = i % 64;
    qs[32 * (i / 64) + r % 32] |= uint8_t((L[i] & 15) << (r < 32 ? 0 : 4));
    if (qh) qh[i % 32] |= uint8_t(((L[i] >> 4) & 1) << (i / 32));
  }
}

}  // namespace

void dequantize_q4_k(const void* src, float* dst, int64_t n) {
  const BlockQ4_K* b = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i)
    decode_k4(f16_to_f32(b[i].d), f16_to_f32(b[i].dmin), b[i].scales, b[i].qs, nullptr, dst + i * kQKK);
}

void quantize_q4_k(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ4_K* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i)
    quantize_k4(src + i * kQKK, imatrix ? imatrix + i * kQKK : nullptr, 15, &b[i].d, &b[i].dmin, b[i].scales,
                b[i].qs, nullptr);
}

void dequantize_q5_k(const void* src, float* dst, int64_t n) {
  const BlockQ5_K* b = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i)
    decode_k4(f16_to_f32(b[i].d), f16_to_f32(b[i].dmin), b[i].scales, b[i].qs, b[i].qh, dst + i * kQKK);
}

void quantize_q5_k(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ5_K* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i)
    quantize_k4(src + i * kQKK, imatrix ? imatrix + i * kQKK : nullptr, 31, &b[i].d, &b[i].dmin, b[i].scales,
                b[i].qs, b[i].qh);
}

// Q6_K element i = 128c + 32k + l: low nibble in ql[64c + l + 32(k & 1)] (high half when k >= 2),
// top 2 bits at 2k in qh[32c + l].
void dequantize_q6_k(const void* src, float* dst, int64_t n) {
  const BlockQ6_K* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t bi = 0; bi < n / kQKK; ++bi, dst += kQKK) {
    const float d = f16_to_f32(b[bi].d);
    for (int i = 0; i < kQKK; ++i) {
      const int c = i / 128, k = (i % 128) / 32, l = i % 32;
      const uint8_t lo = b[bi].ql[64 * c + l + 32 * (k & 1)];
      const int q = ((k >= 2 ? lo >> 4 : lo & 15) | (((b[bi].qh[32 * c + l] >> (2 * k)) & 3) << 4)) - 32;
      dst[i] = d * float(b[bi].scales[i / 16]) * float(q);
    }
  }
}

void quantize_q6_k(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ6_K* b = static_cast<BlockQ6_K*>(dst);
  const SymPlan plan{.nsub = 16, .len = 16, .grid = Grid{.lo = -32, .hi = 31}, .cmin = -128, .cmax = 127};
  float w[kQKK];
  int codes[16];
  uint8_t L[kQKK];
  for (int64_t bi = 0; bi < n / kQKK; ++bi, src += kQKK) {
    block_weights(imatrix ? imatrix + bi * kQKK : nullptr, src, kQKK, w);
    b[bi].d = quantize_super_sym(src, w, plan, codes, L);
    for (int k = 0; k < 16; ++k) b[bi].scales[k] = int8_t(codes[k]);
    std::memset(b[bi].ql, 0, sizeof b[bi].ql);
    std::memset(b[bi].qh, 0, sizeof b[bi].qh);
    for (int i = 0; i < kQKK; ++i) {
      const int c = i / 128, k = (i % 128) / 32, l = i % 32;
      b[bi].ql[64 * c + l + 32 * (k & 1)] |= uint8_t((L[i] & 15) << (k >= 2 ? 4 : 0));
      b[bi].qh[32 * c + l] |= uint8_t((L[i] >> 4) << (2 * k));
    }
  }
}

void dequantize_q8_k(const void* src, float* dst, int64_t n) {
  const BlockQ8_K* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK)
    for (int j = 0; j < kQKK; ++j) dst[j] = b[i].d * float(b[i].qs[j]);
}

// Q8_K is the activation format of k-quant dot products. As the format's reference: with m the value of
// largest magnitude, iscale = -127 / m, q = min(127, nearest(iscale * x)) and d = 1 / iscale (f32).
void quantize_q8_k(const float* src, void* dst, int64_t n, const float*) {
  BlockQ8_K* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, src += kQKK) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQKK; ++j) {
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    }
    if (amax == 0 || !std::isfinite(amax)) {
      b[i] = BlockQ8_K{};
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQKK; ++j) b[i].qs[j] = int8_t(std::min(127, round_clamp(iscale * src[j], -128, 127)));
    b[i].d = 1.0f / iscale;
    for (int k = 0; k < kQKK / 16; ++k) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b[i].qs[16 * k + j];
      b[i].bsums[k] = int16_t(sum);
    }
  }
}

}  // namespace slm::quant::detail
