// IEEE half (f16) and bfloat16 (bf16) storage types with exact, round-to-nearest-even conversions.
#pragma once

#include <cstdint>
#include <cstring>

namespace slm {

struct f16 {
  uint16_t bits;
};
struct bf16 {
  uint16_t bits;
};
static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2);

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Exact: every f16 value is representable as f32.
inline float f16_to_f32(f16 h) {
  const uint32_t sign = uint32_t(h.bits & 0x8000) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1f;
  const uint32_t man = h.bits & 0x3ff;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp != 0) return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
  if (man == 0) return f32_from_bits(sign);
  // Subnormal: value = man * 2^-24.
  float v = float(man) * (1.0f / 16777216.0f);
  return sign ? -v : v;
}

// Round to nearest, ties to even; overflow goes to inf, nan stays nan (quiet).
inline f16 f32_to_f16(float f) {
  const uint32_t u = f32_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return {uint16_t(sign | 0x7e00 | ((abs >> 13) & 0x3ff))};  // nan
  if (abs >= 0x477ff000u) return {uint16_t(sign | 0x7c00)};  // rounds to >= 65520: inf
  if (abs >= 0x38800000u) {                                  // normal f16
    uint32_t m = abs - 0x38000000u;                          // rebias exponent 127 -> 15
    m += 0xfff + ((m >> 13) & 1);
    return {uint16_t(sign | (m >> 13))};
  }
  if (abs < 0x33000000u) return {uint16_t(sign)};  // below half the smallest subnormal: 0
  // Subnormal f16: shift the full mantissa right with round-to-nearest-even.
  const uint32_t e = abs >> 23;
  const uint32_t mant = (abs & 0x7fffff) | 0x800000;
  const uint32_t shift = 126 - e;  // 14..24
  uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) ++q;
  return {uint16_t(sign | q)};
}

inline float bf16_to_f32(bf16 h) { return f32_from_bits(uint32_t(h.bits) << 16); }

// Round to nearest even; nan kept quiet (the GGUF convention).
inline bf16 f32_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {uint16_t((u >> 16) | 64)};
  return {uint16_t((u + (0x7fff + ((u >> 16) & 1))) >> 16)};
}

}  // namespace slm
