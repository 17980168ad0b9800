// IQ4_NL (32-element blocks, one f16 scale) and IQ4_XS (256-element super-blocks, 6-bit sub-block scales):
// 4-bit codes into the non-linear grid kIq4Values.
#include <array>
#include <cstring>

#include "quant/blocks.h"
#include "quant/types/search.h"
#include "quant/types/types.h"

namespace slm::quant::detail {
namespace {

constexpr auto kIq4Mids = [] {
  std::array<float, 15> m{};
  for (int k = 0; k < 15; ++k) m[k] = 0.5f * (float(kIq4Values[k]) + float(kIq4Values[k + 1]));
  return m;
}();
const Grid kIq4Grid{.table = kIq4Values, .mids = kIq4Mids.data(), .n = 16};

// Sub-block of 32: code j in the low nibble of qs[j], code j + 16 in the high nibble.
void decode_iq4_32(float dl, const uint8_t* qs, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = dl * float(kIq4Values[qs[j] & 15]);
    y[j + 16] = dl * float(kIq4Values[qs[j] >> 4]);
  }
}

void pack_iq4_32(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
}

}  // namespace

void dequantize_iq4_nl(const void* src, float* dst, int64_t n) {
  const BlockIQ4_NL* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) decode_iq4_32(f16_to_f32(b[i].d), b[i].qs, dst + i * kQK);
}

void quantize_iq4_nl(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockIQ4_NL* b = static_cast<BlockIQ4_NL*>(dst);
  float w[kQK];
  uint8_t L[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    block_weights(imatrix ? imatrix + i * kQK : nullptr, src, kQK, w);
    b[i].d = quantize_block_sym(src, w, kQK, kIq4Grid, L);
    pack_iq4_32(L, b[i].qs);
  }
}

void dequantize_iq4_xs(const void* src, float* dst, int64_t n) {
  const BlockIQ4_XS* b = static_cast<const BlockIQ4_XS*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int k = 0; k < 8; ++k) {
      const int ls = ((b[i].scales_l[k / 2] >> (4 * (k % 2))) & 15) | (((b[i].scales_h >> (2 * k)) & 3) << 4);
      decode_iq4_32(d * float(ls - 32), b[i].qs + 16 * k, dst + i * kQKK + 32 * k);
    }
  }
}

void quantize_iq4_xs(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockIQ4_XS* b = static_cast<BlockIQ4_XS*>(dst);
  const SymPlan plan{.nsub = 8, .len = 32, .grid = kIq4Grid, .cmin = -32, .cmax = 31};
  float w[kQKK];
  int codes[8];
  uint8_t L[kQKK];
  for (int64_t i = 0; i < n / kQKK; ++i, src += kQKK) {
    block_weights(imatrix ? imatrix + i * kQKK : nullptr, src, kQKK, w);
    b[i].d = quantize_super_sym(src, w, plan, codes, L);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof b[i].scales_l);
    for (int k = 0; k < 8; ++k) {
      const int ls = codes[k] + 32;
      b[i].scales_l[k / 2] |= uint8_t((ls & 15) << (4 * (k % 2)));
      b[i].scales_h |= uint16_t(((ls >> 4) & 3) << (2 * k));
    }
    for (int k = 0; k < 8; ++k) pack_iq4_32(L + 32 * k, b[i].qs + 16 * k);
  }
}

}  // namespace slm::quant::detail
