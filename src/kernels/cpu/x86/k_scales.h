// The 6-bit sub-block scales and minimums of a Q4_K / Q5_K super-block (the packing of
// quant/types/k_quants.cc's scale_min_k4), unpacked four at a time, for the x86 kernels of every ISA.
#pragma once

#include <emmintrin.h>

#include <cstdint>
#include <cstring>

namespace slm::kernels::cpu::x86 {

// The 12 scale bytes -> 16 bytes: the eight scales, then the eight minimums. Bytes 0-3 hold scales 0-3 (low
// 6 bits) and the top 2 bits of scales 4-7, bytes 4-7 the same for the minimums, bytes 8-11 the low 4 bits
// of scales 4-7 (low nibbles) and of minimums 4-7 (high nibbles).
inline __m128i k45_scales_mins(const uint8_t* s) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s, 4), std::memcpy(&u1, s + 4, 4), std::memcpy(&u2, s + 8, 4);
  const uint32_t sc_lo = u0 & 0x3f3f3f3f, sc_hi = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
  const uint32_t m_lo = u1 & 0x3f3f3f3f, m_hi = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
  return _mm_setr_epi32(int(sc_lo), int(sc_hi), int(m_lo), int(m_hi));
}

}  // namespace slm::kernels::cpu::x86
