// The x86 weight decoders shared by the per-ISA matmul kernels (matmul_body.h, avx512/gemm.cc): each
// integer decoder turns chunk c of a row (32 weights) into 32 bytes q plus scales such that
// w[j] = d * q[j] (* per-16 lane scale) + m; each float loader widens 8 or 1 values to f32. Included inside
// the including file's ISA namespace (no includes here; needs <immintrin.h>, core/f16.h, quant/blocks.h,
// kernels/cpu/x86/k_scales.h and AVX2 + F16C at least).
#pragma once

inline float h2f(f16 h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h.bits))); }

// 16 bytes of packed nibbles -> 32 bytes: the low nibbles, then the high nibbles.
inline __m256i nibbles16(const uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
}

// Byte j = 0xFF where bit j % 8 of the byte of m that `spread` picks for it (vpshufb, within each 128-bit
// lane) is set.
inline __m256i bytes_of_bits(__m256i m, __m256i spread) {
  const __m256i keep = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);  // ~(1 << (j % 8)) in byte j
  return _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_shuffle_epi8(m, spread), keep), _mm256_set1_epi64x(-1));
}

// Picks byte j / 8 of a broadcast 32-bit group for byte j.
inline __m256i spread_bytes_0123() {
  return _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
}

// Byte j = 0xFF where bit j of `bits` is set.
inline __m256i bits_to_bytes(uint32_t bits) { return bytes_of_bits(_mm256_set1_epi32(int(bits)), spread_bytes_0123()); }

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 32 bytes of q as 8 groups of 4 (columns 4s..4s+3 at dst + s * stride): one row's place in the panels'
// VNNI / maddubs order, where a group holds 4 columns of one row.
inline void store_groups4(__m256i q, int8_t* dst, size_t stride) {
  alignas(32) int8_t b[32];
  _mm256_store_si256(reinterpret_cast<__m256i*>(b), q);
  for (int s = 0; s < 8; ++s) std::memcpy(dst + size_t(s) * stride, b + 4 * s, 4);
}

struct Chunk {
  __m256i q;
  __m256i lane_scale;  // per-int32-lane multiplier (Q6_K's 16-value sub-blocks)
  float d, m;
};

struct DecQ4_0 {
  static constexpr bool kSigned = false, kLaneScale = false, kMin = true;
  const BlockQ4_0* b;
  void load(int64_t c, Chunk& ch) {
    ch.q = nibbles16(b[c].qs);
    ch.d = h2f(b[c].d);
    ch.m = -8.0f * ch.d;
  }
};

struct DecQ4_1 {
  static constexpr bool kSigned = false, kLaneScale = false, kMin = true;
  const BlockQ4_1* b;
  void load(int64_t c, Chunk& ch) {
    ch.q = nibbles16(b[c].qs);
    ch.d = h2f(b[c].d);
    ch.m = h2f(b[c].m);
  }
};

struct DecQ5_0 {
  static constexpr bool kSigned = false, kLaneScale = false, kMin = true;
  const BlockQ5_0* b;
  void load(int64_t c, Chunk& ch) {
    const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b[c].qh)), _mm256_set1_epi8(0x10));
    ch.q = _mm256_or_si256(nibbles16(b[c].qs), hi);
    ch.d = h2f(b[c].d);
    ch.m = -16.0f * ch.d;
  }
};

struct DecQ5_1 {
  static constexpr bool kSigned = false, kLaneScale = false, kMin = true;
  const BlockQ5_1* b;
  void load(int64_t c, Chunk& ch) {
    const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b[c].qh)), _mm256_set1_epi8(0x10));
    ch.q = _mm256_or_si256(nibbles16(b[c].qs), hi);
    ch.d = h2f(b[c].d);
    ch.m = h2f(b[c].m);
  }
};

struct DecQ8_0 {
  static constexpr bool kSigned = true, kLaneScale = false, kMin = false;
  const BlockQ8_0* b;
  void load(int64_t c, Chunk& ch) {
    ch.q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[c].qs));
    ch.d = h2f(b[c].d);
  }
};

struct DecIQ4_NL {
  static constexpr bool kSigned = true, kLaneScale = false, kMin = false;
  const BlockIQ4_NL* b;
  __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4Values)));
  void load(int64_t c, Chunk& ch) {
    ch.q = _mm256_shuffle_epi8(table, nibbles16(b[c].qs));
    ch.d = h2f(b[c].d);
  }
};

// Q4_K / Q5_K: chunk c is sub-block c % 8 of super-block c / 8; scales decoded once per super-block.
template <class Block, bool kHigh>
struct DecK45 {
  static constexpr bool kSigned = false, kLaneScale = false, kMin = true;
  const Block* b;
  int64_t cur = -1;
  float dsc[8] = {}, dmn[8] = {};
  void load(int64_t c, Chunk& ch) {
    const int64_t sb = c / 8;
    const int j = int(c % 8);
    const Block& x = b[sb];
    if (sb != cur) {
      cur = sb;
      const __m128i sm = x86::k45_scales_mins(x.scales);
      const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm));
      const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8)));
      _mm256_storeu_ps(dsc, _mm256_mul_ps(_mm256_set1_ps(h2f(x.d)), sc));
      _mm256_storeu_ps(dmn, _mm256_mul_ps(_mm256_set1_ps(-h2f(x.dmin)), mn));
    }
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + 32 * (j / 2)));
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    ch.q = (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4) : _mm256_and_si256(raw, lo4);
    if constexpr (kHigh) {
      const __m256i bit = _mm256_set1_epi8(char(1 << j));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qh));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
      ch.q = _mm256_or_si256(ch.q, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
    }
    ch.d = dsc[j];
    ch.m = dmn[j];
  }
};
using DecQ4_K = DecK45<BlockQ4_K, false>;
using DecQ5_K = DecK45<BlockQ5_K, true>;

struct DecQ6_K {
  static constexpr bool kSigned = true, kLaneScale = true, kMin = false;
  const BlockQ6_K* b;
  void load(int64_t c, Chunk& ch) {
    const BlockQ6_K& x = b[c / 8];
    const int j = int(c % 8), half = j / 4, k = j % 4;
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.ql + 64 * half + 32 * (k & 1)));
    const __m256i lo = k < 2 ? _mm256_and_si256(raw, lo4) : _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qh + 32 * half));
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(0x03));
    ch.q = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(32));
    const int s = 8 * half + 2 * k;
    ch.lane_scale = _mm256_set_m128i(_mm_set1_epi32(x.scales[s + 1]), _mm_set1_epi32(x.scales[s]));
    ch.d = h2f(x.d);
  }
};

struct LoadF32 {
  static __m256 load8(const uint8_t* p, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p) + i); }
  static float load1(const uint8_t* p, int64_t i) { return reinterpret_cast<const float*>(p)[i]; }
};
struct LoadF16 {
  static __m256 load8(const uint8_t* p, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i)));
  }
  static float load1(const uint8_t* p, int64_t i) { return h2f(reinterpret_cast<const f16*>(p)[i]); }
};
struct LoadBF16 {
  static __m256 load8(const uint8_t* p, int64_t i) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float load1(const uint8_t* p, int64_t i) { return bf16_to_f32(reinterpret_cast<const bf16*>(p)[i]); }
};
