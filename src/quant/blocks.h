// GGUF quant block layouts, byte-identical to the files: the one declaration every layer (CPU, CUDA) reads.
// Each struct's comment gives the decode formula; element i of a block is written w[i].
#pragma once

#include <cstdint>

#include "core/f16.h"

namespace slm {

constexpr int kQK = 32;    // elements per legacy block (Q4_0 ... Q8_1, IQ4_NL)
constexpr int kQKK = 256;  // elements per k-quant super-block (Q2_K ... Q8_K, IQ4_XS)

struct BlockQ4_0 {   // w[j] = d * (q[j] - 8), q in 0..15
  f16 d;
  uint8_t qs[kQK / 2];  // q[j] in the low nibble of qs[j], q[j+16] in the high nibble
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_1 {   // w[j] = d * q[j] + m, q in 0..15
  f16 d;
  f16 m;
  uint8_t qs[kQK / 2];  // as Q4_0
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {   // w[j] = d * (q[j] - 16), q in 0..31
  f16 d;
  uint8_t qh[4];        // little-endian u32: bit j is bit 4 of q[j] (j = 0..31)
  uint8_t qs[kQK / 2];  // low 4 bits as Q4_0
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {   // w[j] = d * q[j] + m, q in 0..31
  f16 d;
  f16 m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

struct BlockQ8_0 {   // w[j] = d * qs[j]
  f16 d;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ8_1 {   // w[j] = d * qs[j]; s = d * sum(qs), kept for dot products
  f16 d;
  f16 s;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_1) == 36);

// Q2_K: 16 sub-blocks of 16. w[i] = d * (sc[i/16] & 15) * q[i] - dmin * (sc[i/16] >> 4), q in 0..3.
// q[i] for i = 128c + 32j + l (c < 2, j < 4, l < 32) is bits 2j..2j+1 of qs[32c + l].
struct BlockQ2_K {
  uint8_t scales[kQKK / 16];  // low nibble: scale code, high nibble: min code
  uint8_t qs[kQKK / 4];
  f16 d;
  f16 dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// Q3_K: 16 sub-blocks of 16. w[i] = d * (s[i/16] - 32) * q[i], q in -4..3.
// The low 2 bits of q[i] + 4 sit as in Q2_K; for i = 128c + 32j + l the third bit is bit 4c + j of hmask[l]
// (a clear bit means q = low - 4). Scale s[k] (6 bits): low nibble from scales[k] (k < 8) or the high
// nibble of scales[k - 8]; high 2 bits are bits 2(k/4)..2(k/4)+1 of scales[8 + k%4].
struct BlockQ3_K {
  uint8_t hmask[kQKK / 8];
  uint8_t qs[kQKK / 4];
  uint8_t scales[12];
  f16 d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// Q4_K: 8 sub-blocks of 32. w[i] = d * sc[i/32] * q[i] - dmin * m[i/32], q in 0..15.
// Scales and mins are 6 bits packed in 12 bytes (scale_min_k4 in k_quants.cc).
// q[i] for i = 64c + r is the low (r < 32) or high (r >= 32) nibble of qs[32c + r%32].
struct BlockQ4_K {
  f16 d;
  f16 dmin;
  uint8_t scales[12];
  uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q5_K: as Q4_K with q in 0..31; bit 4 of q[i] is bit i/32 of qh[i%32].
struct BlockQ5_K {
  f16 d;
  f16 dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// Q6_K: 16 sub-blocks of 16. w[i] = (d * scales[i/16]) * (q[i] - 32), q in 0..63.
// For i = 128c + 32k + l (k < 4, l < 32): low 4 bits in the low (k < 2) or high (k >= 2) nibble of
// ql[64c + l + 32(k & 1)], high 2 bits are bits 2k..2k+1 of qh[32c + l].
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  f16 d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Q8_K: w[i] = d * qs[i]; bsums[k] = sum of qs[16k .. 16k+15] (for dot products). Activations only.
struct BlockQ8_K {
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// The non-linear 4-bit grid shared by IQ4_NL and IQ4_XS.
constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

struct BlockIQ4_NL {  // w[j] = d * kIq4Values[q[j]]; nibbles as Q4_0
  f16 d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// IQ4_XS: 8 sub-blocks of 32. w[i] = (d * (ls[i/32] - 32)) * kIq4Values[q[i]].
// ls[b] (6 bits): low nibble of scales_l[b/2] (b even) or its high nibble (b odd), high 2 bits are bits
// 2b..2b+1 of scales_h. Sub-block b's nibbles are qs[16b .. 16b+15], laid out as IQ4_NL.
struct BlockIQ4_XS {
  f16 d;
  uint16_t scales_h;
  uint8_t scales_l[kQKK / 64];
  uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

}  // namespace slm
