// The AVX2 kernels over the packed layouts (cpu/packed_layout.h), see packed.h.
//
// Each 64-byte step (4 columns of 16 rows) is two ymm of 8 rows. AVX2 has no vpdpbusd: vpmaddubsw
// (unsigned weights x signed activations, 16-bit sums of two products) against a token's broadcast 4-byte
// group, several steps added in 16 bits while their sum stays below 32768, then vpmaddwd against ones to
// the 8 rows' int32 sums. With unsigned weights u = q + off, per chunk of 32 columns
//   sum_j w[j] a[j] = d_w * (d_a * sum_j u[j] qa[j] - off * s_a)        (s_a = d_a * sum qa, ActQ8::s)
// Q8_0 (q up to +-128) takes |q| and the activations with q's sign instead. Activations stay within +-127
// (quantize_block), which the 16-bit bounds below use.
#include "kernels/cpu/avx2/packed.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/f16.h"
#include "kernels/cpu/packed_layout.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::avx2 {
namespace {

using x86::ActQ8;

#include "kernels/cpu/x86/decoders.h"

constexpr int64_t kG = kPackRows;  // rows per group: two halves of 8

// The K-quant kernels walk a super-block in several passes (runs, halves), which the hardware prefetcher
// follows poorly from memory: each super-block fetches the one kAhead further on, spread over its passes.
constexpr int64_t kAhead = 2;
// Q4_0 and Q5_0 fetch the lines kStreamAhead bytes on as they go (Llama-3.2-1B Q4_0 tg128, three
// interleaved rounds: 29.7 / 30.9 / 30.2 -> 33.6 / 31.1 / 32.5 t/s; Q5_0 one thread from memory 10.6 -> 18.4
// GB/s with its wider masks); F16 and Q8_0 ran slower with it (two rounds each: 12.9 / 10.8 -> 10.6 / 9.5 and
// 18.0 / 22.0 -> 17.9 / 18.6 t/s; Q8_0 again: Llama-3.2-1B 25.1 / 23.5 -> 24.4 / 18.3), so they keep the
// hardware prefetcher alone.
constexpr int64_t kStreamAhead = 4096;
inline void fetch_ahead(const uint8_t* p, int lines) {
  for (int l = 0; l < lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(p + kStreamAhead + 64 * l), _MM_HINT_T0);
}

inline __m256i ld256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i bcast8(const uint8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_set1_epi64x(v);
}
inline __m256i bcast4(const int8_t* p) { return _mm256_set1_epi32(int(load_u32(reinterpret_cast<const uint8_t*>(p)))); }
inline __m256 f16x8(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m256i u8x8(const uint8_t* p) {  // 8 bytes -> 8 int32 (unsigned)
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline __m256i s8x8(const uint8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }

// Q4_0: u = q + 8 in 0..15. Per chunk the 8 products of 4 steps add in 16 bits (|sum| <= 8 * 2 * 15 * 127 =
// 30480).
struct KQ4_0 {
  static void one(const uint8_t* gp, int64_t cols, const ActQ8* a, __m256 (&acc)[2]) {
    const __m256i lo4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int64_t c = 0; c < cols / 32; ++c) {
      const uint8_t* cp = gp + c * 288;
      fetch_ahead(cp, 5);
      const ActQ8& at = a[c];
      __m256i p[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int k = 0; k < 4; ++k) {
        const __m256i bl = bcast4(at.qs + 4 * k), bh = bcast4(at.qs + 16 + 4 * k);
        for (int h = 0; h < 2; ++h) {
          const __m256i v = ld256(cp + 64 * k + 32 * h);
          const __m256i wl = _mm256_and_si256(v, lo4), wh = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
          p[h] = _mm256_add_epi16(p[h], _mm256_add_epi16(_mm256_maddubs_epi16(wl, bl), _mm256_maddubs_epi16(wh, bh)));
        }
      }
      const __m256 da = _mm256_set1_ps(at.d), off = _mm256_set1_ps(8.0f * at.s);
      for (int h = 0; h < 2; ++h) {
        const __m256 s = _mm256_fmsub_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p[h], ones)), da, off);
        acc[h] = _mm256_fmadd_ps(f16x8(cp + 256 + 16 * h), s, acc[h]);
      }
    }
  }
};

// Q5_0: the Q4_0 nibbles plus 16 where a step mask's bit is set (u in 0..31, offset 16); two steps add in 16
// bits (|sum| <= 4 * 2 * 31 * 127 = 31496), then widen.
struct KQ5_0 {
  static void one(const uint8_t* gp, int64_t cols, const ActQ8* a, __m256 (&acc)[2]) {
    const __m256i lo4 = _mm256_set1_epi8(0x0F), x10 = _mm256_set1_epi8(0x10), ones = _mm256_set1_epi16(1);
    // Half h's 32 mask bits are bytes 4h..4h+3 of a step's 64-bit mask (broadcast to each 128-bit lane).
    const __m256i spread[2] = {spread_bytes_0123(), _mm256_add_epi8(spread_bytes_0123(), _mm256_set1_epi8(4))};
    const auto high = [&](__m256i m64, int h) { return _mm256_and_si256(bytes_of_bits(m64, spread[h]), x10); };
    for (int64_t c = 0; c < cols / 32; ++c) {
      const uint8_t* cp = gp + c * 352;
      fetch_ahead(cp, 6);
      const ActQ8& at = a[c];
      __m256i i32[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int k2 = 0; k2 < 4; k2 += 2) {
        __m256i p[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int k = k2; k < k2 + 2; ++k) {
          const __m256i bl = bcast4(at.qs + 4 * k), bh = bcast4(at.qs + 16 + 4 * k);
          const __m256i ml = bcast8(cp + 256 + 8 * k), mh = bcast8(cp + 256 + 8 * (k + 4));
          for (int h = 0; h < 2; ++h) {
            const __m256i v = ld256(cp + 64 * k + 32 * h);
            const __m256i wl = _mm256_or_si256(_mm256_and_si256(v, lo4), high(ml, h));
            const __m256i wh = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), lo4), high(mh, h));
            p[h] = _mm256_add_epi16(p[h], _mm256_add_epi16(_mm256_maddubs_epi16(wl, bl), _mm256_maddubs_epi16(wh, bh)));
          }
        }
        for (int h = 0; h < 2; ++h) i32[h] = _mm256_add_epi32(i32[h], _mm256_madd_epi16(p[h], ones));
      }
      const __m256 da = _mm256_set1_ps(at.d), off = _mm256_set1_ps(16.0f * at.s);
      for (int h = 0; h < 2; ++h) {
        const __m256 s = _mm256_fmsub_ps(_mm256_cvtepi32_ps(i32[h]), da, off);
        acc[h] = _mm256_fmadd_ps(f16x8(cp + 320 + 16 * h), s, acc[h]);
      }
    }
  }
};

// Q8_0: stored q ^ 0x80; |q| (up to 128) against the activations with q's sign, each step widened at once
// (two steps could reach 2 * 2 * 128 * 127 > 32767).
struct KQ8_0 {
  static void one(const uint8_t* gp, int64_t cols, const ActQ8* a, __m256 (&acc)[2]) {
    const __m256i flip = _mm256_set1_epi8(char(0x80)), ones = _mm256_set1_epi16(1);
    for (int64_t c = 0; c < cols / 32; ++c) {
      const uint8_t* cp = gp + c * 544;
      const ActQ8& at = a[c];
      __m256i i32[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int k = 0; k < 8; ++k) {
        const __m256i b = bcast4(at.qs + 4 * k);
        for (int h = 0; h < 2; ++h) {
          const __m256i q = _mm256_xor_si256(ld256(cp + 64 * k + 32 * h), flip);
          const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(b, q));
          i32[h] = _mm256_add_epi32(i32[h], _mm256_madd_epi16(p, ones));
        }
      }
      const __m256 da = _mm256_set1_ps(at.d);
      for (int h = 0; h < 2; ++h)
        acc[h] = _mm256_fmadd_ps(f16x8(cp + 512 + 16 * h), _mm256_mul_ps(_mm256_cvtepi32_ps(i32[h]), da), acc[h]);
    }
  }
};

// Q4_K: per super-block the 6-bit scales and mins of 8 rows unpacked from the transposed scale bytes (int32
// lanes = rows), times d and dmin; per sub-block j
//   (d sc_j) * d_a * sum q qa - (dmin m_j) * s_a      (q unsigned 0..15, 8 steps in 16 bits: <= 30480)
struct KQ4_K {
  static void scales(const uint8_t* p, int h, __m256 (&sc)[8], __m256 (&mn)[8]) {
    __m256i q[12];
    for (int i = 0; i < 12; ++i) q[i] = u8x8(p + 2048 + 16 * i + 8 * h);
    const __m256 d = f16x8(p + 2240 + 16 * h), dmin = f16x8(p + 2272 + 16 * h);
    const __m256i m6 = _mm256_set1_epi32(63), m4 = _mm256_set1_epi32(15);
    for (int j = 0; j < 8; ++j) {
      __m256i s, m;
      if (j < 4) {  // sc = q[j] & 63, m = q[j + 4] & 63
        s = _mm256_and_si256(q[j], m6);
        m = _mm256_and_si256(q[j + 4], m6);
      } else {  // sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4, m = (q[j + 4] >> 4) | (q[j] >> 6) << 4
        s = _mm256_or_si256(_mm256_and_si256(q[j + 4], m4), _mm256_slli_epi32(_mm256_srli_epi32(q[j - 4], 6), 4));
        m = _mm256_or_si256(_mm256_srli_epi32(q[j + 4], 4), _mm256_slli_epi32(_mm256_srli_epi32(q[j], 6), 4));
      }
      sc[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(s));
      mn[j] = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(m));
    }
  }
  static void one(const uint8_t* gp, int64_t cols, const ActQ8* a, __m256 (&acc)[2]) {
    const __m256i lo4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int64_t sb = 0; sb < cols / 256; ++sb) {
      const uint8_t* p = gp + sb * kPackQ4KBytes;
      __m256 sc[2][8], mn[2][8];
      for (int h = 0; h < 2; ++h) scales(p, h, sc[h], mn[h]);
      const char* ahead = reinterpret_cast<const char*>(p + kAhead * kPackQ4KBytes);
      for (int k = 0; k < 4; ++k) {  // sub-blocks 2k (low nibbles) and 2k + 1 (high nibbles)
        for (int l = 0; l < 9; ++l) _mm_prefetch(ahead + 64 * (9 * k + l), _MM_HINT_T0);
        const ActQ8* at = a + sb * 8 + 2 * k;
        __m256i il[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, ih[2] = {il[0], il[1]};
        for (int st = 0; st < 8; ++st) {
          const __m256i bl = bcast4(at[0].qs + 4 * st), bh = bcast4(at[1].qs + 4 * st);
          for (int h = 0; h < 2; ++h) {
            const __m256i v = ld256(p + 512 * k + 64 * st + 32 * h);
            il[h] = _mm256_add_epi16(il[h], _mm256_maddubs_epi16(_mm256_and_si256(v, lo4), bl));
            ih[h] = _mm256_add_epi16(ih[h], _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), lo4), bh));
          }
        }
        const __m256 dl = _mm256_set1_ps(at[0].d), dh = _mm256_set1_ps(at[1].d);
        const __m256 sl = _mm256_set1_ps(at[0].s), sh = _mm256_set1_ps(at[1].s);
        for (int h = 0; h < 2; ++h) {
          acc[h] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(il[h], ones)), dl), sc[h][2 * k], acc[h]);
          acc[h] = _mm256_fnmadd_ps(mn[h][2 * k], sl, acc[h]);
          acc[h] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(ih[h], ones)), dh), sc[h][2 * k + 1], acc[h]);
          acc[h] = _mm256_fnmadd_ps(mn[h][2 * k + 1], sh, acc[h]);
        }
      }
    }
  }
};

// Q6_K: per half of the super-block, the four blocks that share a qh vector at once (each ql and qh vector
// loaded once); q = low 4 bits | 2 high bits << 4 in 0..63, two steps in 16 bits (<= 2 * 2 * 63 * 127 =
// 32004); per 16-value sub-block the int32 sum less 32 times the activations' half sum, times d * sc.
struct KQ6_K {
  static void one(const uint8_t* gp, int64_t cols, const ActQ8* a, __m256 (&acc)[2]) {
    const __m256i lo4 = _mm256_set1_epi8(0x0F), x30 = _mm256_set1_epi8(0x30), ones = _mm256_set1_epi16(1);
    for (int64_t sb = 0; sb < cols / 256; ++sb) {
      const uint8_t* p = gp + sb * kPackQ6KBytes;
      const char* ahead = reinterpret_cast<const char*>(p + kAhead * kPackQ6KBytes);
      for (int h = 0; h < 2; ++h) {  // rows 8h..8h+7
        const __m256 d = f16x8(p + 3328 + 16 * h);
        for (int hs = 0; hs < 2; ++hs) {  // blocks 4hs..4hs+3
          for (int l = 0; l < 14; ++l) _mm_prefetch(ahead + 64 * (14 * (2 * h + hs) + l), _MM_HINT_T0);
          const ActQ8* at = a + sb * 8 + 4 * hs;
          for (int sub = 0; sub < 2; ++sub) {  // columns 16 sub.. of each block: steps 4 sub..4 sub + 3
            __m256i is[4];
            for (int i = 0; i < 4; ++i) is[i] = _mm256_set1_epi32(-32 * at[i].h[sub]);
            for (int st = 4 * sub; st < 4 * sub + 4; st += 2) {
              __m256i ps[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                               _mm256_setzero_si256()};
              for (int s = st; s < st + 2; ++s) {
                const __m256i l0 = ld256(p + 512 * (2 * hs) + 64 * s + 32 * h);
                const __m256i l1 = ld256(p + 512 * (2 * hs + 1) + 64 * s + 32 * h);
                const __m256i qh = ld256(p + 2048 + 512 * hs + 64 * s + 32 * h);
                const __m256i q[4] = {
                    _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), x30)),
                    _mm256_or_si256(_mm256_and_si256(l1, lo4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), x30)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4), _mm256_and_si256(qh, x30)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                    _mm256_and_si256(_mm256_srli_epi16(qh, 2), x30))};
                for (int i = 0; i < 4; ++i)
                  ps[i] = _mm256_add_epi16(ps[i], _mm256_maddubs_epi16(q[i], bcast4(at[i].qs + 4 * s)));
              }
              for (int i = 0; i < 4; ++i) is[i] = _mm256_add_epi32(is[i], _mm256_madd_epi16(ps[i], ones));
            }
            for (int i = 0; i < 4; ++i) {
              const int b = 4 * hs + i;  // block; its sub-block 2b + sub has scale byte 2b + sub
              const __m256 dsc = _mm256_mul_ps(d, _mm256_cvtepi32_ps(s8x8(p + 3072 + 16 * (2 * b + sub) + 8 * h)));
              acc[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[i]), _mm256_mul_ps(dsc, _mm256_set1_ps(at[i].d)), acc[h]);
            }
          }
        }
      }
    }
  }
};

// F16: one column of 16 rows per step (two ymm widened), against a broadcast activation; two interleaved
// chains per half.
struct KF16 {
  static void one(const uint8_t* gp, int64_t cols, const float* x, __m256 (&acc)[2]) {
    __m256 s[2][2] = {{_mm256_setzero_ps(), _mm256_setzero_ps()}, {_mm256_setzero_ps(), _mm256_setzero_ps()}};
    int64_t k = 0;
    const auto step = [&](int c, int64_t col) {
      const __m256 xv = _mm256_set1_ps(x[col]);
      for (int h = 0; h < 2; ++h) s[c][h] = _mm256_fmadd_ps(f16x8(gp + 32 * col + 16 * h), xv, s[c][h]);
    };
    for (; k + 2 <= cols; k += 2) step(0, k), step(1, k + 1);
    if (k < cols) step(0, k);
    for (int h = 0; h < 2; ++h) acc[h] = _mm256_add_ps(s[0][h], s[1][h]);
  }
};

// The rows of group g inside [r0, r1), per half of 8: a vmaskmov mask and how many.
struct GroupRows {
  __m256i mask[2];
  int64_t count[2];
};

inline GroupRows group_rows(int64_t g, int64_t r0, int64_t r1) {
  GroupRows gr;
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int h = 0; h < 2; ++h) {
    const int64_t base = g * kG + 8 * h;
    const int64_t lo = std::clamp<int64_t>(r0 - base, 0, 8), hi = std::clamp<int64_t>(r1 - base, 0, 8);
    gr.mask[h] = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(int(lo)), idx),
                                     _mm256_cmpgt_epi32(_mm256_set1_epi32(int(hi)), idx));
    gr.count[h] = std::max<int64_t>(0, hi - lo);
  }
  return gr;
}

inline void store_half(float* y, __m256 v, const GroupRows& gr, int h) {
  if (gr.count[h] == 8)
    _mm256_storeu_ps(y, v);
  else if (gr.count[h] > 0)
    _mm256_maskstore_ps(y, gr.mask[h], v);
}

// Every token through the group before the next group, so a group's bytes come from memory once per call.
template <class K, class Act>
void rows(const MatView& w, const Act* act, int64_t per_token, int64_t n, int64_t r0, int64_t r1, float* y) {
  for (int64_t g = r0 / kG; g * kG < r1; ++g) {
    const GroupRows gr = group_rows(g, r0, r1);
    const uint8_t* gp = w.packed + size_t(g) * size_t(kG) * w.row_bytes;
    for (int64_t t = 0; t < n; ++t) {
      __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      K::one(gp, w.cols, act + t * per_token, acc);
      float* yt = y + t * w.rows + g * kG;
      store_half(yt, acc[0], gr, 0);
      store_half(yt + 8, acc[1], gr, 1);
    }
  }
}

}  // namespace

void packed_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  const ActQ8* a = static_cast<const ActQ8*>(xa);
  const int64_t nb = w.cols / 32;
  switch (w.type) {
    case DType::Q8_0: return rows<KQ8_0>(w, a, nb, n, r0, r1, y);
    case DType::Q4_0: return rows<KQ4_0>(w, a, nb, n, r0, r1, y);
    case DType::Q5_0: return rows<KQ5_0>(w, a, nb, n, r0, r1, y);
    case DType::Q4_K: return rows<KQ4_K>(w, a, nb, n, r0, r1, y);
    case DType::Q6_K: return rows<KQ6_K>(w, a, nb, n, r0, r1, y);
    case DType::F16: return rows<KF16>(w, x, w.cols, n, r0, r1, y);
    default: return;  // pack16_supports() is false: nothing packed it
  }
}

}  // namespace slm::kernels::cpu::avx2
