// The AVX-512 kernels over the packed layouts of cpu/packed_layout.h (one zmm = one 64-byte step: 4
// consecutive columns of all 16 rows of a group), see packed.h. With unsigned weights u = q + off, per
// chunk of 32 columns
//   sum_j w[j] a[j] = d_w * (d_a * sum_j u[j] qa[j] - off * s_a)        (s_a = d_a * sum qa, ActQ8::s)
// which is the offset form the gemv kernels use. F16 widens 16 rows of one column per instruction and
// accumulates exact f32 FMAs against a broadcast activation.
#include "kernels/cpu/avx512/packed.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/packed_layout.h"
#include "kernels/cpu/x86/act_q8.h"
#include "quant/blocks.h"

// GCC 12's AVX-512 intrinsics start masked and converting loads from _mm512_undefined_*(), which its
// flow analysis reports as uninitialised; the values are fully overwritten.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace slm::kernels::cpu::avx512 {
namespace {

using x86::ActQ8;
constexpr int kG = int(kPackRows);
constexpr int64_t kSegChunks = 32;  // 1024 columns: 17 KiB of Q8_0 per group

inline __m512 i2f(__m512i v) { return _mm512_maskz_cvtepi32_ps(__mmask16(0xFFFF), v); }

inline int32_t ld32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Group g's packed bytes, and the next group's (fetched into cache meanwhile), null after the last.
inline const uint8_t* group_at(const MatView& w, int64_t g) {
  return w.packed + size_t(g) * size_t(kG) * w.row_bytes;
}
inline const uint8_t* next_group(const MatView& w, int64_t g) {
  return (g + 1) * kG < w.rows ? group_at(w, g + 1) : nullptr;
}
// The lanes of group g's 16 rows that fall in [r0, r1).
inline __mmask16 group_mask(int64_t g, int64_t r0, int64_t r1) {
  const int64_t lo = std::max<int64_t>(r0 - g * kG, 0), hi = std::min<int64_t>(r1 - g * kG, kG);
  return __mmask16(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// Step pairs (k, k + 4) of one chunk: two weight vectors (columns 4k..4k+3 and 16+4k..16+4k+3).
struct PQ8_0 {
  static constexpr int64_t kQBytes = 512;  // per group and chunk
  static constexpr float kOff = 128.0f;
  static void load(const uint8_t* c, int k, __m512i& a, __m512i& b) {
    a = _mm512_loadu_si512(c + 64 * k);
    b = _mm512_loadu_si512(c + 64 * (k + 4));
  }
};

struct PQ4_0 {
  static constexpr int64_t kQBytes = 256;
  static constexpr float kOff = 8.0f;
  static void load(const uint8_t* c, int k, __m512i& a, __m512i& b) {
    const __m512i lo = _mm512_set1_epi8(0x0F);
    const __m512i v = _mm512_loadu_si512(c + 64 * k);
    a = _mm512_and_si512(v, lo);
    b = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo);
  }
};

// As Q4_0, then per step s a 64-bit mask: bit 4r + b is bit 4 (the high bit) of column 4s + b of row r,
// which adds 16 to those bytes (q in 0..31, offset 16).
struct PQ5_0 {
  static constexpr int64_t kQBytes = 320;  // 256 nibble bytes + 8 step masks
  static constexpr float kOff = 16.0f;
  static void load(const uint8_t* c, int k, __m512i& a, __m512i& b) {
    PQ4_0::load(c, k, a, b);
    const __m512i sixteen = _mm512_set1_epi8(16);
    uint64_t ma, mb;
    std::memcpy(&ma, c + 256 + 8 * k, 8);
    std::memcpy(&mb, c + 256 + 8 * (k + 4), 8);
    a = _mm512_mask_add_epi8(a, _cvtu64_mask64(ma), a, sixteen);
    b = _mm512_mask_add_epi8(b, _cvtu64_mask64(mb), b, sixteen);
  }
};

// T tokens (ActQ8 rows nb blocks apart) against one group; 16 row sums per token stored under mask m.
// Chunks [c0, c1) only; the first segment (c0 == 0) stores, later ones add to y.
// pf: the same chunks of the next group, fetched into cache meanwhile (or null).
template <class P, int T>
void qtile(const uint8_t* g, int64_t nb, int64_t c0, int64_t c1, const ActQ8* a, float* y, int64_t ldy,
           __mmask16 m, const uint8_t* pf) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = c0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, y + t * ldy);
  for (int64_t c = c0; c < c1; ++c) {
    // kCh independent sums per token so that few tokens do not wait on vpdpbusd latency.
    constexpr int kCh = T == 1 ? 4 : T == 2 ? 2 : 1;
    __m512i is[kCh][T];
    for (int h = 0; h < kCh; ++h)
      for (int t = 0; t < T; ++t) is[h][t] = _mm512_setzero_si512();
    if (pf)
      for (int64_t l = 0; l < P::kQBytes + 32; l += 64)
        _mm_prefetch(reinterpret_cast<const char*>(pf + c * (P::kQBytes + 32) + l), _MM_HINT_T1);
    for (int k = 0; k < 4; ++k) {
      __m512i wa, wb;
      P::load(g + c * (P::kQBytes + 32), k, wa, wb);
      const int ha = kCh == 4 ? 2 * (k & 1) : 0, hb = ha + (kCh > 1 ? 1 : 0);  // the chains of this pair
      for (int t = 0; t < T; ++t) {
        const int8_t* q = a[t * nb + c].qs;
        is[ha][t] = _mm512_dpbusd_epi32(is[ha][t], wa, _mm512_set1_epi32(ld32(q + 4 * k)));
        is[hb][t] = _mm512_dpbusd_epi32(is[hb][t], wb, _mm512_set1_epi32(ld32(q + 16 + 4 * k)));
      }
    }
    for (int h = 1; h < kCh; ++h)
      for (int t = 0; t < T; ++t) is[0][t] = _mm512_add_epi32(is[0][t], is[h][t]);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + c * (P::kQBytes + 32) + P::kQBytes)));
    for (int t = 0; t < T; ++t) {
      const ActQ8& at = a[t * nb + c];
      const __m512 f = _mm512_fmsub_ps(i2f(is[0][t]), _mm512_set1_ps(at.d), _mm512_set1_ps(P::kOff * at.s));
      acc[t] = _mm512_fmadd_ps(f, dw, acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, m, acc[t]);
}

// Q4_K: per super-block, sub-block j's scale d * sc_j and min dmin * m_j for the 16 rows (floats, exact as
// the reference computes them), unpacked from the transposed 6-bit fields.
constexpr int64_t kK4Bytes = kPackQ4KBytes;
inline void k4_scales(const uint8_t* sb, float* sc, float* mn) {
  __m128i q[12];
  for (int i = 0; i < 12; ++i) q[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + 2048 + 16 * i));
  const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(15), m2 = _mm_set1_epi8(3);
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + 2240)));
  const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + 2272)));
  const auto put = [](__m128i u8, __m512 f, float* dst) {
    _mm512_storeu_ps(dst, _mm512_mul_ps(f, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(u8))));
  };
  for (int j = 0; j < 8; ++j) {
    __m128i a, b;
    if (j < 4) {  // sc = q[j] & 63, m = q[j + 4] & 63
      a = _mm_and_si128(q[j], m6);
      b = _mm_and_si128(q[j + 4], m6);
    } else {  // sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4, m = (q[j + 4] >> 4) | (q[j] >> 6) << 4
      a = _mm_or_si128(_mm_and_si128(q[j + 4], m4), _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(q[j - 4], 6), m2), 4));
      b = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(q[j + 4], 4), m4),
                       _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(q[j], 6), m2), 4));
    }
    put(a, d, sc + 16 * j);
    put(b, dmin, mn + 16 * j);
  }
}

// T tokens (ActQ8 rows nb blocks apart) against super-blocks [s0, s1) of one Q4_K group, as qtile:
//   sum over sub-block j of (d sc_j) * d_a * sum q qa - (dmin m_j) * s_a      (q unsigned 0..15)
// scm: the super-blocks' scales and mins from k4_scales (256 floats each), unpacked once for all tiles.
template <int T>
void k4tile(const uint8_t* g, int64_t nb, int64_t s0, int64_t s1, const float* scm, const ActQ8* a, float* y,
            int64_t ldy, __mmask16 m, const uint8_t* pf) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = s0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, y + t * ldy);
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  for (int64_t sb = s0; sb < s1; ++sb) {
    const uint8_t* p = g + sb * kK4Bytes;
    // The next group's super-block into L2, one line per step (a burst of 36 prefetches stalls the loop:
    // one thread, L3-fed, 7% of its samples); the 4 lines of scales first.
    const char* pfs = pf ? reinterpret_cast<const char*>(pf + sb * kK4Bytes) : nullptr;
    if (pfs)
      for (int64_t l = 2048; l < kK4Bytes; l += 64) _mm_prefetch(pfs + l, _MM_HINT_T1);
    const float* sc = scm + 256 * (sb - s0);
    const float* mn = sc + 128;
    for (int k = 0; k < 4; ++k) {  // sub-blocks 2k (low nibbles) and 2k + 1 (high nibbles)
      // kCh chains per sum for few tokens (exact int32 sums: the same result, a shorter vpdpbusd chain);
      // with the full unroll, one thread L3-fed: n=1 24.2-28.1 -> 26.9-32.1 GB/s, n=16 3.3-3.8 -> 4.2-4.6.
      constexpr int kCh = T <= 2 ? 2 : 1;
      __m512i il[kCh][T], ih[kCh][T];
      for (int h = 0; h < kCh; ++h)
        for (int t = 0; t < T; ++t) il[h][t] = ih[h][t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int st = 0; st < 8; ++st) {
        if (pfs) _mm_prefetch(pfs + 512 * k + 64 * st, _MM_HINT_T1);
        const __m512i v = _mm512_loadu_si512(p + 512 * k + 64 * st);
        const __m512i wl = _mm512_and_si512(v, lo4), wh = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
        const int h = st % kCh;
        for (int t = 0; t < T; ++t) {
          const ActQ8* at = a + t * nb + sb * 8 + 2 * k;
          il[h][t] = _mm512_dpbusd_epi32(il[h][t], wl, _mm512_set1_epi32(ld32(at[0].qs + 4 * st)));
          ih[h][t] = _mm512_dpbusd_epi32(ih[h][t], wh, _mm512_set1_epi32(ld32(at[1].qs + 4 * st)));
        }
      }
      for (int h = 1; h < kCh; ++h)
        for (int t = 0; t < T; ++t) {
          il[0][t] = _mm512_add_epi32(il[0][t], il[h][t]);
          ih[0][t] = _mm512_add_epi32(ih[0][t], ih[h][t]);
        }
      const __m512 scl = _mm512_load_ps(sc + 32 * k), sch = _mm512_load_ps(sc + 32 * k + 16);
      const __m512 mnl = _mm512_load_ps(mn + 32 * k), mnh = _mm512_load_ps(mn + 32 * k + 16);
      for (int t = 0; t < T; ++t) {
        const ActQ8* at = a + t * nb + sb * 8 + 2 * k;
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(i2f(il[0][t]), _mm512_set1_ps(at[0].d)), scl, acc[t]);
        acc[t] = _mm512_fnmadd_ps(mnl, _mm512_set1_ps(at[0].s), acc[t]);
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(i2f(ih[0][t]), _mm512_set1_ps(at[1].d)), sch, acc[t]);
        acc[t] = _mm512_fnmadd_ps(mnh, _mm512_set1_ps(at[1].s), acc[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, m, acc[t]);
}

// Q6_K: per super-block, sub-block i's scale d * sc_i for the 16 rows (exact: an f16 times an int8).
constexpr int64_t kK6Bytes = kPackQ6KBytes;
inline void k6_scales(const uint8_t* sb, float* dsc) {
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + 3328)));
  for (int i = 0; i < 16; ++i) {
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + 3072 + 16 * i));
    _mm512_storeu_ps(dsc + 16 * i, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc))));
  }
}

// One token against one Q6_K super-block p (its 8 blocks' activations at a): per half, the four blocks
// that share the qh vectors at once (each qh and ql vector loaded once, not once per block), eight int32
// sums started at -32 h; then the float sums in k6tile's block order (0 2 1 3 4 6 5 7), so a token's result
// is the same bits here as in a larger tile. pfs: the next group's super-block, four lines per step.
// sc: the super-block's scales from k6_scales, or null to widen them here from p (the same products, so the
// same bits; a lone token then skips the 1 KiB round trip through memory per super-block).
inline void k6one(const uint8_t* p, const float* sc, const ActQ8* a, __m512& acc, __m512i lo4, __m512i hi2,
                  const char* pfs) {
  const __m512 d = sc ? __m512() : _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 3328)));
  const auto scale = [&](int i) {
    if (sc) return _mm512_loadu_ps(sc + 16 * i);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 3072 + 16 * i));
    return _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)));
  };
  for (int half = 0; half < 2; ++half) {
    __m512i is[4][2];  // [block - 4 half][steps 0-3, 4-7]
    for (int b = 0; b < 4; ++b) {
      is[b][0] = _mm512_set1_epi32(-32 * a[4 * half + b].h[0]);
      is[b][1] = _mm512_set1_epi32(-32 * a[4 * half + b].h[1]);
    }
#pragma GCC unroll 8
    for (int st = 0; st < 8; ++st) {
      if (pfs)
        for (int i = 0; i < 4; ++i)
          if (const int64_t l = 64 * (32 * half + 4 * st + i); l < kK6Bytes) _mm_prefetch(pfs + l, _MM_HINT_T1);
      const __m512i h = _mm512_loadu_si512(p + 2048 + 512 * half + 64 * st);
      const __m512i v0 = _mm512_loadu_si512(p + 512 * (2 * half) + 64 * st);
      const __m512i v1 = _mm512_loadu_si512(p + 512 * (2 * half + 1) + 64 * st);
      // block j + 2 nib: ql run 2 half + j, nibble nib, qh field j + 2 nib moved to bits 4-5
      const __m512i w[4] = {
          _mm512_ternarylogic_epi32(_mm512_and_si512(v0, lo4), _mm512_slli_epi16(h, 4), hi2, 0xF8),
          _mm512_ternarylogic_epi32(_mm512_and_si512(v1, lo4), _mm512_slli_epi16(h, 2), hi2, 0xF8),
          _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(v0, 4), lo4), h, hi2, 0xF8),
          _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(v1, 4), lo4), _mm512_srli_epi16(h, 2), hi2, 0xF8)};
      for (int b = 0; b < 4; ++b)
        is[b][st / 4] = _mm512_dpbusd_epi32(is[b][st / 4], w[b], _mm512_set1_epi32(ld32(a[4 * half + b].qs + 4 * st)));
    }
    for (int b : {0, 2, 1, 3}) {
      const int blk = 4 * half + b;
      const __m512 sc0 = scale(2 * blk), sc1 = scale(2 * blk + 1);
      const __m512 f = _mm512_fmadd_ps(i2f(is[b][1]), sc1, _mm512_mul_ps(i2f(is[b][0]), sc0));
      acc = _mm512_fmadd_ps(f, _mm512_set1_ps(a[blk].d), acc);
    }
  }
}

// T tokens against super-blocks [s0, s1) of one Q6_K group, as k4tile: per 32-block b with sub-blocks i0, i1
//   d_a * ((d sc_i0) * (sum q qa - 32 h0) + (d sc_i1) * (sum q qa - 32 h1))      (q unsigned 0..63)
// with h = ActQ8::h and each -32 h term as its int32 sum's start value. One block at a time (its weights
// unpacked once per step for all T tokens, two int32 sums per token). dsc: the scales from k6_scales.
template <int T>
void k6tile(const uint8_t* g, int64_t nb, int64_t s0, int64_t s1, const float* dsc, const ActQ8* a, float* y,
            int64_t ldy, __mmask16 m, const uint8_t* pf) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = s0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, y + t * ldy);
  const __m512i lo4 = _mm512_set1_epi8(0x0F), hi2 = _mm512_set1_epi8(0x30);
  for (int64_t sb = s0; sb < s1; ++sb) {
    const uint8_t* p = g + sb * kK6Bytes;
    // The next group's super-block into L2, spread as k4tile's: line i at step i (53 lines, 64 steps).
    const char* pfs = pf ? reinterpret_cast<const char*>(pf + sb * kK6Bytes) : nullptr;
    const float* sc = dsc + 256 * (sb - s0);
    if constexpr (T == 1) {
      k6one(p, sc, a + sb * 8, acc[0], lo4, hi2, pfs);
      continue;
    }
    for (int k = 0; k < 4; ++k) {  // ql run k: blocks 4 * half + j (low nibbles) and that + 2 (high nibbles)
      const int half = k / 2, j = k % 2;
      for (int nib = 0; nib < 2; ++nib) {
        const int blk = 4 * half + j + 2 * nib, fld = j + 2 * nib;  // qh bits 2 fld .. 2 fld + 1
        __m512i i0[T], i1[T];
        for (int t = 0; t < T; ++t) {
          const ActQ8& at = a[t * nb + sb * 8 + blk];
          i0[t] = _mm512_set1_epi32(-32 * at.h[0]);
          i1[t] = _mm512_set1_epi32(-32 * at.h[1]);
        }
        const auto step = [&](int st, __m512i* is) {
          if (const int64_t l = 64 * (16 * k + 8 * nib + st); pfs && l < kK6Bytes) _mm_prefetch(pfs + l, _MM_HINT_T1);
          const __m512i v = _mm512_loadu_si512(p + 512 * k + 64 * st);
          const __m512i h = _mm512_loadu_si512(p + 2048 + 512 * half + 64 * st);
          // the field's two bits to bits 4-5 (16-bit shifts: the mask drops what crosses bytes)
          const __m512i hs = fld == 0 ? _mm512_slli_epi16(h, 4) : fld == 1 ? _mm512_slli_epi16(h, 2)
                           : fld == 2 ? h : _mm512_srli_epi16(h, 2);
          const __m512i lo = _mm512_and_si512(nib ? _mm512_srli_epi16(v, 4) : v, lo4);
          const __m512i wq = _mm512_ternarylogic_epi32(lo, hs, hi2, 0xF8);  // lo | (hs & 0x30)
          for (int t = 0; t < T; ++t)
            is[t] = _mm512_dpbusd_epi32(is[t], wq, _mm512_set1_epi32(ld32(a[t * nb + sb * 8 + blk].qs + 4 * st)));
        };
#pragma GCC unroll 4
        for (int st = 0; st < 4; ++st) step(st, i0);
#pragma GCC unroll 4
        for (int st = 4; st < 8; ++st) step(st, i1);
        const __m512 sc0 = _mm512_loadu_ps(sc + 32 * blk), sc1 = _mm512_loadu_ps(sc + 32 * blk + 16);
        for (int t = 0; t < T; ++t) {
          const __m512 f = _mm512_fmadd_ps(i2f(i1[t]), sc1, _mm512_mul_ps(i2f(i0[t]), sc0));
          acc[t] = _mm512_fmadd_ps(f, _mm512_set1_ps(a[t * nb + sb * 8 + blk].d), acc[t]);
        }
      }
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, m, acc[t]);
}

// T tokens against one F16 group, kC interleaved sums per token. x: rows ldx floats apart, or (kTiled) a
// tile of prepare_f16_tiles, value (t, k) at x[kActTile * k + t]. kC does not depend on T or the layout, so
// a token's result does not depend on the tile it lands in (batched = alone, bit for bit; the integer
// kernels' chains are exact int32 sums, so theirs may vary).
template <int T, bool kTiled = false>
void ftile(const uint8_t* g, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy, __mmask16 m,
           const uint8_t* pf) {
  static_assert(!kTiled || T == kActTile);
  constexpr int kC = 2;
  __m512 acc[kC][T];
  for (int c = 0; c < kC; ++c)
    for (int t = 0; t < T; ++t) acc[c][t] = _mm512_setzero_ps();
  auto step = [&](int c, int64_t k) {
    if (pf && (k & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(pf + 32 * k), _MM_HINT_T1);
    const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 32 * k)));
    for (int t = 0; t < T; ++t) {
      const float v = kTiled ? x[kActTile * k + t] : x[t * ldx + k];
      acc[c][t] = _mm512_fmadd_ps(w, _mm512_set1_ps(v), acc[c][t]);
    }
  };
  int64_t k = 0;
  for (; k + kC <= cols; k += kC)
    for (int c = 0; c < kC; ++c) step(c, k + c);
  for (; k < cols; ++k) step(0, k);
  for (int t = 0; t < T; ++t) {
    __m512 s = acc[0][t];
    for (int c = 1; c < kC; ++c) s = _mm512_add_ps(s, acc[c][t]);
    _mm512_mask_storeu_ps(y + t * ldy, m, s);
  }
}

// Tokens in tiles of kBig (8: weights unpacked or widened once per 8 tokens), then of 4, then
// the 1-3 left, against one group: tile(t, std::integral_constant<int, T>).
template <int kBig, class Tile>
void tokens(int64_t n, Tile tile) {
  int64_t t = 0;
  for (; t + kBig <= n; t += kBig) tile(t, std::integral_constant<int, kBig>());
  for (; t + 4 <= n; t += 4) tile(t, std::integral_constant<int, 4>());
  switch (n - t) {
    case 3: tile(t, std::integral_constant<int, 3>()); break;
    case 2: tile(t, std::integral_constant<int, 2>()); break;
    case 1: tile(t, std::integral_constant<int, 1>()); break;
    default: break;
  }
}

template <class P>
void qrows(const MatView& w, const void* xa, int64_t n, int64_t g, __mmask16 m, float* y) {
  const int64_t nb = w.cols / 32;
  // The next group into L2 from 2 tokens on; a lone token streams faster on the hardware prefetcher alone,
  // as F16's does (tg128, interleaved, three rounds: Qwen2.5-0.5B Q4_0 84.7 / 84.9 / 105.2 -> 93.9 / 89.8 /
  // 135.6 t/s, Llama-3.2-1B Q4_0 38.5 / 38.9 / 49.9 -> 39.7 / 57.4 / 57.4). The K-quants keep it (krows).
  const uint8_t *gp = group_at(w, g), *next = n > 1 ? next_group(w, g) : nullptr;
  const ActQ8* a = static_cast<const ActQ8*>(xa);
  float* yg = y + g * kG;
  const int64_t ld = w.rows;
  // Many tokens: segments of kSegChunks chunks, so the group's segment stays in L1 while all tiles pass.
  const int64_t seg = n > 8 ? kSegChunks : nb;
  for (int64_t c0 = 0; c0 < nb; c0 += seg) {
    const int64_t c1 = std::min(nb, c0 + seg);
    // The first token tile also pulls the next group into L2 (DRAM-fed Q8_0, one thread: 16 tokens
    // 142-148 -> 222-263 GFLOP/s).
    tokens<8>(n, [&](int64_t t, auto T) {
      qtile<P, T()>(gp, nb, c0, c1, a + t * nb, yg + t * ld, ld, m, t == 0 ? next : nullptr);
    });
  }
}

// The K-quant layouts for krows: bytes per group and super-block, the scales of one super-block (256 floats,
// unpacked once per segment for all token tiles) and the token tile.
struct K4 {
  static constexpr int64_t kBytes = kK4Bytes;
  static void scales(const uint8_t* sb, float* dst) { k4_scales(sb, dst, dst + 128); }
  template <int T, class... A>
  static void tile(A... a) { k4tile<T>(a...); }
};
struct K6 {
  static constexpr int64_t kBytes = kK6Bytes;
  static void scales(const uint8_t* sb, float* dst) { k6_scales(sb, dst); }
  template <int T, class... A>
  static void tile(A... a) { k6tile<T>(a...); }
};

template <class K>
void krows(const MatView& w, const void* xa, int64_t n, int64_t g, __mmask16 m, float* y) {
  const int64_t nb = w.cols / 32, nsb = w.cols / 256;
  const uint8_t *gp = group_at(w, g), *next = next_group(w, g);
  const ActQ8* a = static_cast<const ActQ8*>(xa);
  float* yg = y + g * kG;
  const int64_t ld = w.rows;
  constexpr int64_t kSeg = kSegChunks / 8;  // as qrows: 1024 columns per segment
  if constexpr (std::is_same_v<K, K6>) {
    if (n == 1) {  // a lone token: the scales widened inside k6one, one pass over the row
      const __m512i lo4 = _mm512_set1_epi8(0x0F), hi2 = _mm512_set1_epi8(0x30);
      __m512 acc = _mm512_setzero_ps();
      for (int64_t sb = 0; sb < nsb; ++sb)
        k6one(gp + sb * kK6Bytes, nullptr, a + sb * 8, acc, lo4, hi2,
              next ? reinterpret_cast<const char*>(next + sb * kK6Bytes) : nullptr);
      _mm512_mask_storeu_ps(yg, m, acc);
      return;
    }
  }
  alignas(64) float sc[kSeg * 256];
  const int64_t seg = n == 1 ? 1 : kSeg;  // a lone token: each super-block's scales just before its sums
  for (int64_t s0 = 0; s0 < nsb; s0 += seg) {
    const int64_t s1 = std::min(nsb, s0 + seg);
    for (int64_t sb = s0; sb < s1; ++sb) K::scales(gp + sb * K::kBytes, sc + 256 * (sb - s0));
    tokens<8>(n, [&](int64_t t, auto T) {
      K::template tile<T()>(gp, nb, s0, s1, static_cast<const float*>(sc), a + t * nb, yg + t * ld, ld, m,
                            t == 0 ? next : nullptr);
    });
  }
}

// F16 with many tokens runs over blocks of tokens whose x (f32) stays within kFTokX, so that x stays in L3
// while every group of the range passes over it (each group reads all of the block's x once): one thread,
// 2048 rows x 8192 columns (Llama-3.2-1B's down projection) x 512 tokens, 16 MiB of x in one block, 62-69
// GFLOP/s, in blocks of 128 tokens 98-107 (2048 columns, 4 MiB, ~105 either way). A token's sums do not
// depend on the blocks.
constexpr size_t kFTokX = size_t(4) << 20;

void frows(const MatView& w, const float* x, const float* tiles, int64_t n, int64_t r0, int64_t r1, float* y) {
  const int64_t c = w.cols, ld = w.rows;
  const int64_t fit = int64_t(kFTokX / (size_t(c) * sizeof(float)));  // tokens whose x fits in kFTokX
  const int64_t block = std::max<int64_t>(kActTile, fit / kActTile * kActTile);
  for (int64_t t0 = 0; t0 < n; t0 += block) {
    const int64_t nb = std::min(block, n - t0);
    for (int64_t g = r0 / kG; g * kG < r1; ++g) {
      const __mmask16 m = group_mask(g, r0, r1);
      const uint8_t* gp = group_at(w, g);
      // The first tile pulls the next group into L2. One token streams F16 faster on the hardware
      // prefetcher alone (DRAM-fed, one thread: 13-20 -> 19-25 GB/s without it); from 4 tokens on the
      // prefetch pays (16 tokens: 69 -> 90 GFLOP/s).
      const uint8_t* next = n > 1 ? next_group(w, g) : nullptr;
      float* yg = y + t0 * ld + g * kG;
      tokens<kActTile>(nb, [&](int64_t t, auto T) {
        const uint8_t* pf = t == 0 ? next : nullptr;
        // Whole tiles from prepare_f16_tiles: one thread, 512 tokens x 2048 columns, 85 -> 105 GFLOP/s.
        if constexpr (T() == kActTile)
          if (tiles) return ftile<T(), true>(gp, c, tiles + (t0 + t) * c, 0, yg + t * ld, ld, m, pf);
        ftile<T()>(gp, c, x + (t0 + t) * c, c, yg + t * ld, ld, m, pf);
      });
    }
  }
}

}  // namespace

void prepare_f16_tiles(const float* x, int64_t n, int64_t cols, int64_t t0, int64_t t1, float* dst) {
  constexpr int64_t kT = kActTile;
  static_assert(kT == 8, "the transpose below is 8 x 8");
  for (int64_t b = t0; b + kT <= std::min(t1, n); b += kT) {
    const float* xs = x + b * cols;
    float* d = dst + b * cols;
    int64_t k = 0;
    for (; k + 8 <= cols; k += 8) {  // 8 x 8 transpose: rows t (8 columns each) -> columns k (8 tokens each)
      __m256 r[8], u[8];
      for (int t = 0; t < 8; ++t) r[t] = _mm256_loadu_ps(xs + t * cols + k);
      for (int t = 0; t < 8; t += 2) {
        u[t] = _mm256_unpacklo_ps(r[t], r[t + 1]);      // t0k0 t1k0 t0k1 t1k1 | k4 k5
        u[t + 1] = _mm256_unpackhi_ps(r[t], r[t + 1]);  // k2 k3 | k6 k7
      }
      for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 2; ++q) {  // q: tokens 0-3 (u[0..3]) and 4-7 (u[4..7])
          const __m256 a = u[4 * q + h], bb = u[4 * q + 2 + h];
          r[4 * q + 2 * h] = _mm256_shuffle_ps(a, bb, 0x44);      // k(2h) and k(2h+4): 4 tokens each
          r[4 * q + 2 * h + 1] = _mm256_shuffle_ps(a, bb, 0xEE);  // k(2h+1) and k(2h+5)
        }
      for (int j = 0; j < 4; ++j) {  // r[j]: tokens 0-3 of columns j | j + 4; r[4 + j]: tokens 4-7
        _mm256_storeu_ps(d + kT * (k + j), _mm256_permute2f128_ps(r[j], r[4 + j], 0x20));
        _mm256_storeu_ps(d + kT * (k + j + 4), _mm256_permute2f128_ps(r[j], r[4 + j], 0x31));
      }
    }
    for (; k < cols; ++k)
      for (int64_t t = 0; t < kT; ++t) d[kT * k + t] = xs[t * cols + k];
  }
}

void packed_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  if (w.type == DType::F16) return frows(w, x, static_cast<const float*>(xa), n, r0, r1, y);
  for (int64_t g = r0 / kG; g * kG < r1; ++g) {
    const __mmask16 m = group_mask(g, r0, r1);
    switch (w.type) {
      case DType::Q8_0: qrows<PQ8_0>(w, xa, n, g, m, y); break;
      case DType::Q4_0: qrows<PQ4_0>(w, xa, n, g, m, y); break;
      case DType::Q5_0: qrows<PQ5_0>(w, xa, n, g, m, y); break;
      case DType::Q4_K: krows<K4>(w, xa, n, g, m, y); break;
      case DType::Q6_K: krows<K6>(w, xa, n, g, m, y); break;
      default: return;
    }
  }
}

}  // namespace slm::kernels::cpu::avx512
