// Prefill matmul on 256-bit registers (AVX2 + FMA), see gemm.h.
//
// A block of 16 weight rows is decoded once per segment of up to kSegChunks chunks of 32 columns into a
// panel: for every 4 consecutive columns, 8 rows x 4 bytes = one ymm. A token's 4 activation bytes,
// broadcast, meet it in one vpmaddubsw (unsigned activations x signed weights: 16 sums of 2 products);
// two such column groups add in 16 bits (|q| <= 32, activations <= 255: 4 x 255 x 32 < 32768), then one
// vpmaddwd against ones widens to the 8 rows' int32 sums. Activations are unsigned bytes qa + 128, so
//   sum q * qa = sum q * (qa + 128) - 128 * sum q ;
// the last term is precomputed per row and chunk (per 16-column half for Q6_K's sub-block scales) and
// starts each integer sum. Per chunk: y += d_w * d_a * isum (+ m * s_a for types with minimums).
//
// Q8_0 and IQ4_NL (weights up to +-128, whose pairs against 255 would saturate) take the same panels with
// signed activations: |q| x (qa with q's sign), one column group per 16-bit sum (2 x 128 x 127 = 32512), no
// offset. The float types take f32 panels: 16 rows of a 2048-column segment widened, every token's values
// broadcast against them in exact FMA chains.
#include "kernels/cpu/avx2/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/f16.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::avx2 {
namespace {

using x86::ActQ8;

#include "kernels/cpu/x86/decoders.h"
#include "kernels/cpu/x86/float_panel.h"

constexpr int64_t kSegChunks = 64;  // 2048 columns per panel segment
constexpr int kTokens = 4;          // tokens per tile (4 x 2 int32 and float sums: a few spill; ahead of 2 and 3)

// One panel: 2 groups of 8 rows, nc chunks. Halves: 2 per chunk (Q6_K) or 1.
struct QPanel {
  alignas(32) int8_t q[kSegChunks][8][2][32];      // [chunk][4-column group][row group][row * 4 + byte]
  alignas(32) int32_t bias[kSegChunks][2][2][8];   // -128 * sum q over [chunk][half][group][row]
  alignas(32) float d[kSegChunks][2][2][8];        // d_w per [chunk][half][group][row]
  alignas(32) float m[kSegChunks][2][8];           // minimum per [chunk][group][row]
};

// Weights up to +-128: the sign-moved tile (panel_tile_sign), no offsets or minimums in the panel.
template <class Dec>
constexpr bool kWide = std::is_same_v<Dec, DecQ8_0> || std::is_same_v<Dec, DecIQ4_NL>;

// Rows [rb, rb + rows) (at most 16; the rest get zero chunks: q, scales and minimum 0) and chunks [c0, c0 + nc)
// decoded into the panel.
template <class Dec>
void panel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t c0, int64_t nc, QPanel& p) {
  constexpr bool kHalves = Dec::kLaneScale;
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < 16; ++i) {
    const int g = int(i / 8), r = int(i % 8);
    Chunk ch{};
    Dec dec{i < rows ? reinterpret_cast<decltype(dec.b)>(w.row(rb + i)) : nullptr};
    for (int64_t c = 0; c < nc; ++c) {
      if (i < rows) dec.load(c0 + c, ch);
      store_groups4(ch.q, &p.q[c][0][g][4 * r], sizeof p.q[c][0]);
      if constexpr (kWide<Dec>) {
        p.d[c][0][g][r] = ch.d;
        continue;
      }
      // Sums of 4 bytes per int32 lane (ones x q pairs, then pairs of pairs); lanes 0-3 are the first 16.
      alignas(32) int32_t s4[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(s4), _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, ch.q), ones16));
      const int32_t lo = s4[0] + s4[1] + s4[2] + s4[3], hi = s4[4] + s4[5] + s4[6] + s4[7];
      if constexpr (kHalves) {
        alignas(32) int32_t sc[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(sc), ch.lane_scale);
        p.bias[c][0][g][r] = -128 * lo, p.bias[c][1][g][r] = -128 * hi;
        p.d[c][0][g][r] = ch.d * float(sc[0]), p.d[c][1][g][r] = ch.d * float(sc[4]);
      } else {
        p.bias[c][0][g][r] = -128 * (lo + hi);
        p.d[c][0][g][r] = ch.d;
      }
      p.m[c][g][r] = Dec::kMin ? ch.m : 0.0f;
    }
  }
}

// y (+)= v on the rows of mask; all 8 (the mask all ones) through plain loads and stores, which cost less
// than vmaskmovps (a masked store is microcoded on some CPUs).
inline void put8(float* y, __m256 v, __m256i mask, bool first) {
  if (_mm256_movemask_ps(_mm256_castsi256_ps(mask)) == 0xFF) {
    if (!first) v = _mm256_add_ps(v, _mm256_loadu_ps(y));
    return _mm256_storeu_ps(y, v);
  }
  if (!first) v = _mm256_add_ps(v, _mm256_maskload_ps(y, mask));
  _mm256_maskstore_ps(y, mask, v);
}

inline __m256i row_mask(int64_t valid) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(std::clamp<int64_t>(valid, 0, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Tokens [0, T) of activations a (nb blocks per token) against the panel's chunks [c0, c0 + nc).
template <int T, class Dec>
void panel_tile(const QPanel& p, const ActQ8* a, int64_t nb, int64_t c0, int64_t nc, float* y, int64_t ldy,
                __m256i m0, __m256i m1, bool two, bool first) {
  constexpr bool kHalves = Dec::kLaneScale, kMin = Dec::kMin;
  alignas(32) uint8_t au[T][kSegChunks][32];  // qa + 128
  const __m256i flip = _mm256_set1_epi8(char(0x80));
  for (int t = 0; t < T; ++t)
    for (int64_t c = 0; c < nc; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t * nb + c0 + c].qs));
      _mm256_store_si256(reinterpret_cast<__m256i*>(au[t][c]), _mm256_xor_si256(v, flip));
    }
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  constexpr int kGroups = kHalves ? 4 : 8;  // 4-column groups per half
  for (int64_t c = 0; c < nc; ++c) {
    for (int h = 0; h < (kHalves ? 2 : 1); ++h) {
      __m256i isum[T][2];
      for (int t = 0; t < T; ++t) {
        isum[t][0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.bias[c][h][0]));
        isum[t][1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.bias[c][h][1]));
      }
      for (int s = h * kGroups; s < (h + 1) * kGroups; s += 2) {
        const __m256i w00 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[c][s][0]));
        const __m256i w01 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[c][s][1]));
        const __m256i w10 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[c][s + 1][0]));
        const __m256i w11 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[c][s + 1][1]));
        for (int t = 0; t < T; ++t) {
          int32_t g0, g1;
          std::memcpy(&g0, au[t][c] + 4 * s, 4);
          std::memcpy(&g1, au[t][c] + 4 * s + 4, 4);
          const __m256i u0 = _mm256_set1_epi32(g0), u1 = _mm256_set1_epi32(g1);
          const __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(u0, w00), _mm256_maddubs_epi16(u1, w10));
          const __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(u0, w01), _mm256_maddubs_epi16(u1, w11));
          isum[t][0] = _mm256_add_epi32(isum[t][0], _mm256_madd_epi16(p0, ones));
          isum[t][1] = _mm256_add_epi32(isum[t][1], _mm256_madd_epi16(p1, ones));
        }
      }
      const __m256 d0 = _mm256_load_ps(p.d[c][h][0]), d1 = _mm256_load_ps(p.d[c][h][1]);
      for (int t = 0; t < T; ++t) {
        const __m256 da = _mm256_set1_ps(a[t * nb + c0 + c].d);
        acc[t][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t][0]), _mm256_mul_ps(d0, da), acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t][1]), _mm256_mul_ps(d1, da), acc[t][1]);
      }
    }
    if constexpr (kMin) {
      const __m256 mm0 = _mm256_load_ps(p.m[c][0]), mm1 = _mm256_load_ps(p.m[c][1]);
      for (int t = 0; t < T; ++t) {
        const __m256 sa = _mm256_set1_ps(a[t * nb + c0 + c].s);
        acc[t][0] = _mm256_fmadd_ps(mm0, sa, acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(mm1, sa, acc[t][1]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    put8(y + t * ldy, acc[t][0], m0, first);
    if (two) put8(y + t * ldy + 8, acc[t][1], m1, first);
  }
}

// Q8_0 and IQ4_NL (weights up to +-128): |q| against the token's signed activations with q's sign, one
// column group per 16-bit sum (2 x 128 x 127 = 32512), no offset; per chunk y += d_w * d_a * isum.
template <int T, class Dec>
void panel_tile_sign(const QPanel& p, const ActQ8* a, int64_t nb, int64_t c0, int64_t nc, float* y, int64_t ldy,
                     __m256i m0, __m256i m1, bool two, bool first) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t c = 0; c < nc; ++c) {
    __m256i isum[T][2];
    for (int t = 0; t < T; ++t) isum[t][0] = isum[t][1] = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[c][s][0]));
      const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[c][s][1]));
      const __m256i u0 = _mm256_abs_epi8(w0), u1 = _mm256_abs_epi8(w1);
      for (int t = 0; t < T; ++t) {
        int32_t g;
        std::memcpy(&g, a[t * nb + c0 + c].qs + 4 * s, 4);
        const __m256i b = _mm256_set1_epi32(g);
        isum[t][0] = _mm256_add_epi32(isum[t][0], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(b, w0)), ones));
        isum[t][1] = _mm256_add_epi32(isum[t][1], _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(b, w1)), ones));
      }
    }
    const __m256 d0 = _mm256_load_ps(p.d[c][0][0]), d1 = _mm256_load_ps(p.d[c][0][1]);
    for (int t = 0; t < T; ++t) {
      const __m256 da = _mm256_set1_ps(a[t * nb + c0 + c].d);
      acc[t][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t][0]), _mm256_mul_ps(d0, da), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t][1]), _mm256_mul_ps(d1, da), acc[t][1]);
    }
  }
  for (int t = 0; t < T; ++t) {
    put8(y + t * ldy, acc[t][0], m0, first);
    if (two) put8(y + t * ldy + 8, acc[t][1], m1, first);
  }
}

// Rows in blocks of 16 and columns in segments of kSegChunks chunks: each segment decoded into the panel
// once, then every token streams past it, in tiles of kTokens and then one at a time.
template <class Dec>
void gemm_q(const MatView& w, const ActQ8* a, int64_t n, int64_t r0, int64_t r1, float* y) {
  const int64_t nb = w.cols / 32;
  QPanel p;
  for (int64_t rb = r0; rb < r1; rb += 16) {
    const int64_t rows = std::min<int64_t>(16, r1 - rb);
    const __m256i m0 = row_mask(rows), m1 = row_mask(rows - 8);
    for (int64_t c0 = 0; c0 < nb; c0 += kSegChunks) {
      const int64_t nc = std::min(kSegChunks, nb - c0);
      panel_fill<Dec>(w, rb, rows, c0, nc, p);
      const auto tile = [&](auto T, int64_t t) {
        float* yt = y + t * w.rows + rb;
        if constexpr (kWide<Dec>)
          panel_tile_sign<T(), Dec>(p, a + t * nb, nb, c0, nc, yt, w.rows, m0, m1, rows > 8, c0 == 0);
        else
          panel_tile<T(), Dec>(p, a + t * nb, nb, c0, nc, yt, w.rows, m0, m1, rows > 8, c0 == 0);
      };
      int64_t t = 0;
      for (; t + kTokens <= n; t += kTokens) tile(std::integral_constant<int, kTokens>(), t);
      for (; t < n; ++t) tile(std::integral_constant<int, 1>(), t);
    }
  }
}

// Float panel: [column][row group][row] f32 (F16 / BF16 widened), 16 rows, kSegCols columns per segment.
constexpr int64_t kSegCols = 2048;
constexpr int kFloatTokens = 6;  // 6 tokens x 2 row groups = 12 accumulators, 2 weight vectors, 1 broadcast
struct FPanel {
  alignas(32) float v[kSegCols][2][8];
};

// Tokens [0, T) of x (rows ldx floats apart, from the segment's first column) against the panel: one exact
// FMA chain per output over the segment's columns.
template <int T>
void fpanel_tile(const FPanel& p, const float* x, int64_t ldx, int64_t nk, float* y, int64_t ldy, __m256i m0,
                 __m256i m1, bool two, bool first) {
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < nk; ++k) {
    const __m256 w0 = _mm256_load_ps(p.v[k][0]), w1 = _mm256_load_ps(p.v[k][1]);
    for (int t = 0; t < T; ++t) {
      const __m256 xv = _mm256_set1_ps(x[t * ldx + k]);
      acc[t][0] = _mm256_fmadd_ps(w0, xv, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, xv, acc[t][1]);
    }
  }
  for (int t = 0; t < T; ++t) {
    put8(y + t * ldy, acc[t][0], m0, first);
    if (two) put8(y + t * ldy + 8, acc[t][1], m1, first);
  }
}

template <class Load>
void gemm_f(const MatView& w, const float* x, int64_t n, int64_t r0, int64_t r1, float* y) {
  FPanel p;
  for (int64_t rb = r0; rb < r1; rb += 16) {
    const int64_t rows = std::min<int64_t>(16, r1 - rb);
    const __m256i m0 = row_mask(rows), m1 = row_mask(rows - 8);
    for (int64_t k0 = 0; k0 < w.cols; k0 += kSegCols) {
      const int64_t nk = std::min(kSegCols, w.cols - k0);
      fpanel_fill<Load>(w, rb, rows, k0, nk, p.v);
      const bool first = k0 == 0;
      int64_t t = 0;
      for (; t + kFloatTokens <= n; t += kFloatTokens)
        fpanel_tile<kFloatTokens>(p, x + t * w.cols + k0, w.cols, nk, y + t * w.rows + rb, w.rows, m0, m1, rows > 8,
                                  first);
      // The last 1-5 tokens in one tile (one token at a time had taken 2.4% of a 512-token F16 prefill,
      // where those 2 tokens are 0.4% of the work).
      auto tail = [&](auto T) {
        fpanel_tile<T()>(p, x + t * w.cols + k0, w.cols, nk, y + t * w.rows + rb, w.rows, m0, m1, rows > 8, first);
      };
      switch (n - t) {
        case 5: tail(std::integral_constant<int, 5>()); break;
        case 4: tail(std::integral_constant<int, 4>()); break;
        case 3: tail(std::integral_constant<int, 3>()); break;
        case 2: tail(std::integral_constant<int, 2>()); break;
        case 1: tail(std::integral_constant<int, 1>()); break;
        default: break;
      }
    }
  }
}

}  // namespace

bool gemm_supports(DType t) {
  switch (t) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1:
    case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
    case DType::Q8_0: case DType::IQ4_NL:
    case DType::F32: case DType::F16: case DType::BF16:
      return true;
    default:
      return false;
  }
}

void gemm_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  const ActQ8* a = static_cast<const ActQ8*>(xa);
  switch (w.type) {
    case DType::Q4_0: return gemm_q<DecQ4_0>(w, a, n, r0, r1, y);
    case DType::Q4_1: return gemm_q<DecQ4_1>(w, a, n, r0, r1, y);
    case DType::Q5_0: return gemm_q<DecQ5_0>(w, a, n, r0, r1, y);
    case DType::Q5_1: return gemm_q<DecQ5_1>(w, a, n, r0, r1, y);
    case DType::Q4_K: return gemm_q<DecQ4_K>(w, a, n, r0, r1, y);
    case DType::Q5_K: return gemm_q<DecQ5_K>(w, a, n, r0, r1, y);
    case DType::Q6_K: return gemm_q<DecQ6_K>(w, a, n, r0, r1, y);
    case DType::Q8_0: return gemm_q<DecQ8_0>(w, a, n, r0, r1, y);
    case DType::IQ4_NL: return gemm_q<DecIQ4_NL>(w, a, n, r0, r1, y);
    case DType::F32: return gemm_f<LoadF32>(w, x, n, r0, r1, y);
    case DType::F16: return gemm_f<LoadF16>(w, x, n, r0, r1, y);
    case DType::BF16: return gemm_f<LoadBF16>(w, x, n, r0, r1, y);
    default: return;  // gemm_supports() is false: the table does not route it here
  }
}

}  // namespace slm::kernels::cpu::avx2
