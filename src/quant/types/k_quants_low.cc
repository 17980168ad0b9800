// The low-bit k-quants, 16 sub-blocks of 16 per super-block: Q2_K (affine, 2 bits) and Q3_K (signed, 3 bits).
// Both put the low 2 bits of element i = 128c + 32j + l at bits 2j of qs[32c + l].
#include <cstring>

#include "quant/blocks.h"
#include "quant/types/search.h"
#include "quant/types/types.h"

namespace slm::quant::detail {
namespace {

int low2(const uint8_t* qs, int i) { return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3; }

void set_low2(uint8_t* qs, int i, int v) { qs[32 * (i / 128) + i % 32] |= uint8_t((v & 3) << (2 * ((i % 128) / 32))); }

// Q3_K 6-bit scale k: low nibble from scales[k] (k < 8) or scales[k - 8] >> 4; top 2 bits from scales[8 + k%4].
int q3_scale(const uint8_t* s, int k) {
  const int lo = k < 8 ? s[k] & 15 : s[k - 8] >> 4;
  return lo | (((s[8 + k % 4] >> (2 * (k / 4))) & 3) << 4);
}

void set_q3_scale(uint8_t* s, int k, int v) {
  s[k < 8 ? k : k - 8] |= uint8_t((v & 15) << (k < 8 ? 0 : 4));
  s[8 + k % 4] |= uint8_t(((v >> 4) & 3) << (2 * (k / 4)));
}

// The third bit of element i: bit 4c + j of hmask[l].
bool q3_high(const uint8_t* hmask, int i) { return (hmask[i % 32] >> (4 * (i / 128) + (i % 128) / 32)) & 1; }

}  // namespace

void dequantize_q2_k(const void* src, float* dst, int64_t n) {
  const BlockQ2_K* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t bi = 0; bi < n / kQKK; ++bi, dst += kQKK) {
    const float d = f16_to_f32(b[bi].d), dmin = f16_to_f32(b[bi].dmin);
    for (int i = 0; i < kQKK; ++i) {
      const uint8_t sc = b[bi].scales[i / 16];
      const float dl = d * float(sc & 15), ml = dmin * float(sc >> 4);
      dst[i] = dl * float(low2(b[bi].qs, i)) - ml;
    }
  }
}

void quantize_q2_k(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ2_K* b = static_cast<BlockQ2_K*>(dst);
  const AffinePlan plan{.nsub = 16, .len = 16, .nmax = 3, .cmax = 15};
  float w[kQKK];
  int sc[16], mc[16];
  uint8_t L[kQKK];
  for (int64_t bi = 0; bi < n / kQKK; ++bi, src += kQKK) {
    block_weights(imatrix ? imatrix + bi * kQKK : nullptr, src, kQKK, w);
    const AffineCodes c = quantize_super_affine(src, w, plan, sc, mc, L);
    b[bi].d = c.d;
    b[bi].dmin = c.dmin;
    for (int k = 0; k < 16; ++k) b[bi].scales[k] = uint8_t(sc[k] | (mc[k] << 4));
    std::memset(b[bi].qs, 0, sizeof b[bi].qs);
    for (int i = 0; i < kQKK; ++i) set_low2(b[bi].qs, i, L[i]);
  }
}

void dequantize_q3_k(const void* src, float* dst, int64_t n) {
  const BlockQ3_K* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t bi = 0; bi < n / kQKK; ++bi, dst += kQKK) {
    const float d = f16_to_f32(b[bi].d);
    for (int i = 0; i < kQKK; ++i) {
      const float dl = d * float(q3_scale(b[bi].scales, i / 16) - 32);
      const int q = low2(b[bi].qs, i) - (q3_high(b[bi].hmask, i) ? 0 : 4);
      dst[i] = dl * float(q);
    }
  }
}

void quantize_q3_k(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockQ3_K* b = static_cast<BlockQ3_K*>(dst);
  const SymPlan plan{.nsub = 16, .len = 16, .grid = Grid{.lo = -4, .hi = 3}, .cmin = -32, .cmax = 31};
  float w[kQKK];
  int codes[16];
  uint8_t L[kQKK];  // q + 4, 0..7
  for (int64_t bi = 0; bi < n / kQKK; ++bi, src += kQKK) {
    block_weights(imatrix ? imatrix + bi * kQKK : nullptr, src, kQKK, w);
    b[bi].d = quantize_super_sym(src, w, plan, codes, L);
    std::memset(b[bi].scales, 0, sizeof b[bi].scales);
    for (int k = 0; k < 16; ++k) set_q3_scale(b[bi].scales, k, codes[k] + 32);
    std::memset(b[bi].qs, 0, sizeof b[bi].qs);
    std::memset(b[bi].hmask, 0, sizeof b[bi].hmask);
    for (int i = 0; i < kQKK; ++i) {
      set_low2(b[bi].qs, i, L[i] & 3);
      if (L[i] >= 4) b[bi].hmask[i % 32] |= uint8_t(1 << (4 * (i / 128) + (i % 128) / 32));
    }
  }
}

}  // namespace slm::quant::detail
