// 512-bit matrix-vector kernels for decode (rows one at a time: see kRows).
//
// Integer types hold two 32-value blocks of one row per zmm as unsigned bytes q = w / d + offset (Q4_0: 8,
// Q5_0: 16, Q8_0: 128 by flipping the sign bit), so one vpdpbusd against the int8 activations gives 16
// lanes of 4-product sums. Each lane belongs to one block; with 8 lanes per block,
//   sum_j w[j] a[j] = d * sum_lanes (da * p_lane - (offset / 8) * sa)      (sa = da * sum(qa), ActQ8::s)
// so the offset costs one fmsub per pair of blocks and the block scales become per-lane vectors.
// Lane layouts: "split" (nibble types) puts low nibbles of both blocks in the lower 256 bits and high
// nibbles in the upper: 128-bit quarters [b0 0-15, b1 0-15, b0 16-31, b1 16-31]; "natural" (Q8_0) is
// [b0 0-31, b1 0-31]. Activations are rearranged to match once per pair and row group (kRows rows).
#include "kernels/cpu/avx512/gemv.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "quant/blocks.h"

// GCC 12's AVX-512 intrinsics start masked and converting loads from _mm512_undefined_*(), which its
// flow analysis reports as uninitialised; the values are fully overwritten.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace slm::kernels::cpu::avx512 {
namespace {

using x86::ActQ8;

// Rows one at a time: interleaving 4 row streams (to share activation loads) halved the rate of weight
// streaming from DRAM on the 2-vCPU build machine (49152 x 576 F16, one thread: 4.9 vs 10.8 GB/s; software
// prefetch did not recover it). The group templates stay for machines where a wider group pays.
constexpr int kRows = 1;

inline uint32_t ld16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline uint32_t ld32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline __m128i ld128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i ld256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Which of the two blocks each 32-bit lane holds.
inline __m512i split_lanes() { return _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1); }
inline __m512i natural_lanes() { return _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1); }

// Two f16 scales (low half: block 0) spread over the lanes of their blocks.
inline __m512 lane_scales(uint32_t halves, __m512i lanes) {
  return _mm512_permutexvar_ps(lanes, _mm512_zextps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(int(halves)))));
}

// 16 + 16 packed nibbles -> split layout.
inline __m512i nibbles_split(const uint8_t* qs0, const uint8_t* qs1) {
  const __m256i q = _mm256_set_m128i(ld128(qs1), ld128(qs0));
  const __m512i z = _mm512_inserti64x4(_mm512_zextsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
  return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

struct GQ4_0 {
  static constexpr size_t kBytes = sizeof(BlockQ4_0);
  static constexpr bool kSplit = true;
  static constexpr float kOffset8 = 1.0f;  // offset 8, over 8 lanes
  static __m512i load(const uint8_t* b0, const uint8_t* b1) { return nibbles_split(b0 + 2, b1 + 2); }
};

struct GQ5_0 {
  static constexpr size_t kBytes = sizeof(BlockQ5_0);
  static constexpr bool kSplit = true;
  static constexpr float kOffset8 = 2.0f;  // offset 16
  static __m512i load(const uint8_t* b0, const uint8_t* b1) {
    const __m512i lo = nibbles_split(b0 + 6, b1 + 6);
    const uint64_t h0 = ld32(b0 + 2), h1 = ld32(b1 + 2);  // bit j: bit 4 of value j
    const __mmask64 hi = (h0 & 0xFFFF) | ((h1 & 0xFFFF) << 16) | ((h0 >> 16) << 32) | ((h1 >> 16) << 48);
    return _mm512_mask_add_epi8(lo, hi, lo, _mm512_set1_epi8(0x10));
  }
};

struct GQ8_0 {
  static constexpr size_t kBytes = sizeof(BlockQ8_0);
  static constexpr bool kSplit = false;
  static constexpr float kOffset8 = 16.0f;  // offset 128
  static __m512i load(const uint8_t* b0, const uint8_t* b1) {
    const __m512i z = _mm512_inserti64x4(_mm512_zextsi256_si512(ld256(b0 + 2)), ld256(b1 + 2), 1);
    return _mm512_xor_si512(z, _mm512_set1_epi8(char(0x80)));
  }
};

// The activations of two blocks in the layout of G, with their per-lane scale and offset term.
template <class G>
struct ActPair {
  __m512i q;
  __m512 da, sa;
  ActPair(const ActQ8& a0, const ActQ8& a1, __m512i lanes) {
    if constexpr (G::kSplit) {
      const __m256i lo = _mm256_set_m128i(ld128(a1.qs), ld128(a0.qs));
      const __m256i hi = _mm256_set_m128i(ld128(a1.qs + 16), ld128(a0.qs + 16));
      q = _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1);
    } else {
      q = _mm512_inserti64x4(_mm512_zextsi256_si512(ld256(a0.qs)), ld256(a1.qs), 1);
    }
    const __m512 v = _mm512_zextps128_ps512(_mm_setr_ps(a0.d, a1.d, G::kOffset8 * a0.s, G::kOffset8 * a1.s));
    da = _mm512_permutexvar_ps(lanes, v);
    sa = _mm512_permutexvar_ps(_mm512_add_epi32(lanes, _mm512_set1_epi32(2)), v);
  }
};

// y[i] = row (r + i) . a for i < NR.
template <class G, int NR>
void qgemv(const MatView& w, const ActQ8* a, int64_t r, float* y) {
  const int64_t nb = w.cols / 32;
  const __m512i lanes = G::kSplit ? split_lanes() : natural_lanes();
  const uint8_t* row[NR];
  __m512 acc[NR];
  for (int i = 0; i < NR; ++i) row[i] = w.row(r + i), acc[i] = _mm512_setzero_ps();
  const auto step = [&](const ActPair<G>& ap, size_t off, bool pair) {
    for (int i = 0; i < NR; ++i) {
      const uint8_t* b0 = row[i] + off;
      const uint8_t* b1 = pair ? b0 + G::kBytes : b0;  // a lone last block: its copy is weighted 0
      const __m512 dw = lane_scales(pair ? ld16(b0) | (ld16(b1) << 16) : ld16(b0), lanes);
      const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), G::load(b0, b1), ap.q);
      acc[i] = _mm512_fmadd_ps(dw, _mm512_fmsub_ps(_mm512_cvtepi32_ps(p), ap.da, ap.sa), acc[i]);
    }
  };
  int64_t c = 0;
  for (; c + 2 <= nb; c += 2) step(ActPair<G>(a[c], a[c + 1], lanes), size_t(c) * G::kBytes, true);
  if (c < nb) {
    const ActQ8 zero{};
    step(ActPair<G>(a[c], zero, lanes), size_t(c) * G::kBytes, false);
  }
  for (int i = 0; i < NR; ++i) y[i] = _mm512_reduce_add_ps(acc[i]);
}

// K-quants: one super-block (256 values, 8 ActQ8 blocks) at a time; pairs of 32-value blocks in the
// natural layout. The activations of a super-block are shared by the rows of a group.
struct KAct {
  __m512i q[4];
  __m512 da[4];
  __m512i sum32[4];  // 32 * (sum of each lane's 4 activations): Q6_K's offset, exact in int32
  __m256 sa;         // the 8 blocks' scaled sums: Q4_K's minimums
  KAct(const ActQ8* a, bool sums) {
    const __m512 d8 = _mm512_zextps256_ps512(
        _mm256_setr_ps(a[0].d, a[1].d, a[2].d, a[3].d, a[4].d, a[5].d, a[6].d, a[7].d));
    sa = _mm256_setr_ps(a[0].s, a[1].s, a[2].s, a[3].s, a[4].s, a[5].s, a[6].s, a[7].s);
    for (int g = 0; g < 4; ++g) {
      q[g] = _mm512_inserti64x4(_mm512_zextsi256_si512(ld256(a[2 * g].qs)), ld256(a[2 * g + 1].qs), 1);
      da[g] = _mm512_permutexvar_ps(pair_lanes(g), d8);
      if (sums)
        sum32[g] = _mm512_slli_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), q[g]), 5);
    }
  }
  // Lanes 0-7 from entry 2g, lanes 8-15 from entry 2g + 1.
  static __m512i pair_lanes(int g) {
    return _mm512_add_epi32(natural_lanes(), _mm512_set1_epi32(2 * g));
  }
};

// Q4_K: w = d * sc[k] * q - dmin * m[k] per 32-value sub-block k, 6-bit sc and m packed in 12 bytes.
template <int NR>
void q4k_gemv(const MatView& w, const ActQ8* a, int64_t r, float* y) {
  const int64_t nsb = w.cols / 256;
  const uint8_t* row[NR];
  __m512 acc[NR];
  __m256 macc[NR];
  for (int i = 0; i < NR; ++i) row[i] = w.row(r + i), acc[i] = _mm512_setzero_ps(), macc[i] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const KAct ka(a + 8 * sb, false);
    for (int i = 0; i < NR; ++i) {
      const uint8_t* b = row[i] + size_t(sb) * sizeof(BlockQ4_K);
      const __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(x86::k45_scales_mins(b + 4)));
      const __m512 dd = lane_scales(ld16(b) | (ld16(b + 2) << 16), natural_lanes());  // d x8, dmin x8
      const __m512 dsc = _mm512_mul_ps(f, dd);  // d * sc[k] (lanes 0-7), dmin * m[k] (lanes 8-15)
      macc[i] = _mm256_fmadd_ps(_mm512_extractf32x8_ps(dsc, 1), ka.sa, macc[i]);
      for (int g = 0; g < 4; ++g) {
        const __m256i raw = ld256(b + 16 + 32 * g);
        const __m512i q = _mm512_and_si512(
            _mm512_inserti64x4(_mm512_zextsi256_si512(raw), _mm256_srli_epi16(raw, 4), 1), _mm512_set1_epi8(0x0F));
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, ka.q[g]);
        const __m512 sc = _mm512_permutexvar_ps(KAct::pair_lanes(g), dsc);
        acc[i] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p), ka.da[g]), sc, acc[i]);
      }
    }
  }
  for (int i = 0; i < NR; ++i) {
    const __m256 m = macc[i];
    const __m128 m4 = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    const __m128 m2 = _mm_add_ps(m4, _mm_movehl_ps(m4, m4));
    y[i] = _mm512_reduce_add_ps(acc[i]) - _mm_cvtss_f32(_mm_add_ss(m2, _mm_movehdup_ps(m2)));
  }
}

// Q6_K: w = d * sc[i / 16] * (q - 32), q = 4 low bits from ql and 2 high bits from qh.
template <int NR>
void q6k_gemv(const MatView& w, const ActQ8* a, int64_t r, float* y) {
  const int64_t nsb = w.cols / 256;
  const uint8_t* row[NR];
  __m512 acc[NR];
  for (int i = 0; i < NR; ++i) row[i] = w.row(r + i), acc[i] = _mm512_setzero_ps();
  const __m512i lo4 = _mm512_set1_epi8(0x0F), lo2 = _mm512_set1_epi8(0x03);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const KAct ka(a + 8 * sb, true);
    for (int i = 0; i < NR; ++i) {
      const uint8_t* b = row[i] + size_t(sb) * sizeof(BlockQ6_K);
      const float d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(int(ld16(b + 208)))));
      const __m512 dsc = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(ld128(b + 192))), _mm512_set1_ps(d));
      for (int c = 0; c < 2; ++c) {
        const __m512i ql = _mm512_loadu_si512(b + 64 * c);
        const __m256i qh = ld256(b + 128 + 32 * c);
        const __m512i h01 = _mm512_inserti64x4(_mm512_zextsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        const __m512i h23 = _mm512_srli_epi16(h01, 4);
        const __m512i qs[2] = {
            _mm512_or_si512(_mm512_and_si512(ql, lo4), _mm512_slli_epi16(_mm512_and_si512(h01, lo2), 4)),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), lo4),
                            _mm512_slli_epi16(_mm512_and_si512(h23, lo2), 4))};
        for (int h = 0; h < 2; ++h) {
          const int g = 2 * c + h;  // values 64g .. 64g + 63: 16-value scales 4g .. 4g + 3
          const __m512i p = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), qs[h], ka.q[g]), ka.sum32[g]);
          const __m512i sidx = _mm512_add_epi32(_mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 2),
                                                _mm512_set1_epi32(4 * g));
          acc[i] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p), ka.da[g]), _mm512_permutexvar_ps(sidx, dsc), acc[i]);
        }
      }
    }
  }
  for (int i = 0; i < NR; ++i) y[i] = _mm512_reduce_add_ps(acc[i]);
}

// Rows in groups of kRows (then one at a time); every token of a group while its rows are in cache.
template <void (*Group)(const MatView&, const void*, int64_t, int64_t, float*),
          void (*One)(const MatView&, const void*, int64_t, int64_t, float*)>
void rows_loop(const MatView& w, const void* act, int64_t n, int64_t r0, int64_t r1, float* y) {
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows)
    for (int64_t t = 0; t < n; ++t) Group(w, act, t, r, y + t * w.rows + r);
  for (; r < r1; ++r)
    for (int64_t t = 0; t < n; ++t) One(w, act, t, r, y + t * w.rows + r);
}

template <class G, int NR>
void qgroup(const MatView& w, const void* xa, int64_t t, int64_t r, float* y) {
  qgemv<G, NR>(w, static_cast<const ActQ8*>(xa) + t * (w.cols / 32), r, y);
}

template <void (*Fn)(const MatView&, const ActQ8*, int64_t, float*)>
void kgroup(const MatView& w, const void* xa, int64_t t, int64_t r, float* y) {
  Fn(w, static_cast<const ActQ8*>(xa) + t * (w.cols / 32), r, y);
}

template <class G>
void qrows(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  rows_loop<qgroup<G, kRows>, qgroup<G, 1>>(w, xa, n, r0, r1, y);
}

}  // namespace

bool gemv_supports(DType t) {
  return t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q8_0 || t == DType::Q4_K || t == DType::Q6_K;
}

void gemv_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  switch (w.type) {
    case DType::Q4_0: return qrows<GQ4_0>(w, xa, n, r0, r1, y);
    case DType::Q5_0: return qrows<GQ5_0>(w, xa, n, r0, r1, y);
    case DType::Q8_0: return qrows<GQ8_0>(w, xa, n, r0, r1, y);
    case DType::Q4_K: return rows_loop<kgroup<q4k_gemv<kRows>>, kgroup<q4k_gemv<1>>>(w, xa, n, r0, r1, y);
    case DType::Q6_K: return rows_loop<kgroup<q6k_gemv<kRows>>, kgroup<q6k_gemv<1>>>(w, xa, n, r0, r1, y);
    default: return;
  }
}

}  // namespace slm::kernels::cpu::avx512
