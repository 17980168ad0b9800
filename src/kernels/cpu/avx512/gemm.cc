// Prefill matmul on 512-bit registers (AVX-512 F/BW/VL/DQ + VNNI), see gemm.h.
//
// A block of 32 weight rows is decoded once per segment of up to kSegChunks chunks of 32 columns into a
// panel in "VNNI order": for every 4 consecutive columns, 16 rows x 4 bytes = one zmm, so that one
// vpdpbusd with a broadcast 4-byte group of one token's activations adds 4 products to 16 row sums at once
// (no horizontal sums). Every token of the call then streams past the panel, 4 tokens x 32 rows at a time.
//   Integer types: weights as signed bytes q from the shared decoders (w = d*q + m), activations as
//   unsigned bytes qa + 128, so  sum q*qa = dpbusd(qa + 128, q) - 128 * sum q ;  the last term is
//   precomputed per row and chunk (per 16-column half for Q6_K's sub-block scales) and starts each
//   integer sum. Per chunk: y += d_w * d_a * isum (+ m * s_a for types with minimums).
//   Float types: the panel holds f32 (F16/BF16 widened), tokens' values are broadcast, exact f32 FMAs.
#include "kernels/cpu/avx512/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/f16.h"
#include "kernels/cpu/x86/act_q8.h"
#include "kernels/cpu/x86/k_scales.h"
#include "quant/blocks.h"

namespace slm::kernels::cpu::avx512 {
namespace {

using x86::ActQ8;

#include "kernels/cpu/x86/decoders.h"
#include "kernels/cpu/x86/float_panel.h"

constexpr int64_t kSegChunks = 64;  // 2048 columns per integer panel segment
constexpr int64_t kSegCols = 256;   // columns per float panel segment

// int32 -> f32; the maskz form because g++ 12 warns that _mm512_cvtepi32_ps reads an undefined register.
inline __m512 i2f(__m512i v) { return _mm512_maskz_cvtepi32_ps(__mmask16(0xFFFF), v); }

inline __mmask16 row_mask(int64_t valid) { return valid >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << valid) - 1); }

// Adds (or stores, on the first segment) one token's 16 row sums at y.
inline void put16(float* y, __m512 v, __mmask16 m, bool first) {
  if (!first) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, y));
  _mm512_mask_storeu_ps(y, m, v);
}

// One integer panel: 2 groups of 16 rows, nc chunks. h = 2 halves per chunk (Q6_K) or 1.
struct QPanel {
  alignas(64) int8_t q[kSegChunks][8][2][64];   // [chunk][4-column group][row group][row * 4 + byte]
  alignas(64) int32_t bias[kSegChunks][2][2][16];  // -128 * sum q over [chunk][half][group][row]
  alignas(64) float d[kSegChunks][2][2][16];       // d_w per [chunk][half][group][row]
  alignas(64) float m[kSegChunks][2][16];          // minimum per [chunk][group][row]
};

template <class Dec>
void qpanel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t c0, int64_t nc, QPanel& p) {
  constexpr int kHalves = Dec::kLaneScale ? 2 : 1;
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < 32; ++i) {
    const int g = int(i / 16), r = int(i % 16);
    if (i >= rows) {
      for (int64_t c = 0; c < nc; ++c) {
        for (int s = 0; s < 8; ++s) std::memset(&p.q[c][s][g][4 * r], 0, 4);
        for (int h = 0; h < 2; ++h) p.bias[c][h][g][r] = 0, p.d[c][h][g][r] = 0.0f;
        p.m[c][g][r] = 0.0f;
      }
      continue;
    }
    Dec dec{reinterpret_cast<decltype(dec.b)>(w.row(rb + i))};
    Chunk ch{};
    alignas(32) int8_t qb[32];
    alignas(32) int32_t lanes[8];
    for (int64_t c = 0; c < nc; ++c) {
      dec.load(c0 + c, ch);
      _mm256_store_si256(reinterpret_cast<__m256i*>(qb), ch.q);
      for (int s = 0; s < 8; ++s) std::memcpy(&p.q[c][s][g][4 * r], qb + 4 * s, 4);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, ch.q));
      const int32_t lo = lanes[0] + lanes[1] + lanes[2] + lanes[3], hi = lanes[4] + lanes[5] + lanes[6] + lanes[7];
      if constexpr (kHalves == 2) {
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

// Tokens [t0, t0 + T) of activations a (nb blocks per token) against the panel's chunks [c0, c0 + nc).
template <int T, int kHalves, bool kMin>
void qpanel_tile(const QPanel& p, const ActQ8* a, int64_t nb, int64_t c0, int64_t nc, float* y, int64_t ldy,
                 __mmask16 m0, __mmask16 m1, bool first) {
  alignas(64) uint8_t au[T][kSegChunks][32];  // qa + 128
  const __m256i flip = _mm256_set1_epi8(char(0x80));
  for (int t = 0; t < T; ++t)
    for (int64_t c = 0; c < nc; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t * nb + c0 + c].qs));
      _mm256_store_si256(reinterpret_cast<__m256i*>(au[t][c]), _mm256_xor_si256(v, flip));
    }
  __m512 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
  constexpr int kSteps = 8 / kHalves;
  for (int64_t c = 0; c < nc; ++c) {
    for (int h = 0; h < kHalves; ++h) {
      __m512i isum[T][2];
      const __m512i b0 = _mm512_load_si512(p.bias[c][h][0]), b1 = _mm512_load_si512(p.bias[c][h][1]);
      for (int t = 0; t < T; ++t) isum[t][0] = b0, isum[t][1] = b1;
      for (int s = h * kSteps; s < (h + 1) * kSteps; ++s) {
        const __m512i w0 = _mm512_load_si512(p.q[c][s][0]), w1 = _mm512_load_si512(p.q[c][s][1]);
        for (int t = 0; t < T; ++t) {
          int32_t g4;
          std::memcpy(&g4, au[t][c] + 4 * s, 4);
          const __m512i u = _mm512_set1_epi32(g4);
          isum[t][0] = _mm512_dpbusd_epi32(isum[t][0], u, w0);
          isum[t][1] = _mm512_dpbusd_epi32(isum[t][1], u, w1);
        }
      }
      const __m512 d0 = _mm512_load_ps(p.d[c][h][0]), d1 = _mm512_load_ps(p.d[c][h][1]);
      for (int t = 0; t < T; ++t) {
        const __m512 da = _mm512_set1_ps(a[t * nb + c0 + c].d);
        acc[t][0] = _mm512_fmadd_ps(i2f(isum[t][0]), _mm512_mul_ps(d0, da), acc[t][0]);
        acc[t][1] = _mm512_fmadd_ps(i2f(isum[t][1]), _mm512_mul_ps(d1, da), acc[t][1]);
      }
    }
    if constexpr (kMin) {
      const __m512 mm0 = _mm512_load_ps(p.m[c][0]), mm1 = _mm512_load_ps(p.m[c][1]);
      for (int t = 0; t < T; ++t) {
        const __m512 sa = _mm512_set1_ps(a[t * nb + c0 + c].s);
        acc[t][0] = _mm512_fmadd_ps(mm0, sa, acc[t][0]);
        acc[t][1] = _mm512_fmadd_ps(mm1, sa, acc[t][1]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    put16(y + t * ldy, acc[t][0], m0, first);
    if (m1) put16(y + t * ldy + 16, acc[t][1], m1, first);
  }
}

template <class Dec>
void gemm_q(const MatView& w, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  constexpr int kHalves = Dec::kLaneScale ? 2 : 1;
  // Signed types fold no minimum; the others keep m * s_a (Q4_0's -8 d as well).
  constexpr bool kMin = Dec::kMin;
  const int64_t nb = w.cols / 32;
  const ActQ8* a = static_cast<const ActQ8*>(xa);
  QPanel p;
  for (int64_t rb = r0; rb < r1; rb += 32) {
    const int64_t rows = std::min<int64_t>(32, r1 - rb);
    const __mmask16 m0 = row_mask(rows), m1 = rows > 16 ? row_mask(rows - 16) : 0;
    for (int64_t c0 = 0; c0 < nb; c0 += kSegChunks) {
      const int64_t nc = std::min(kSegChunks, nb - c0);
      qpanel_fill<Dec>(w, rb, rows, c0, nc, p);
      const bool first = c0 == 0;
      int64_t t = 0;
      for (; t + 4 <= n; t += 4)
        qpanel_tile<4, kHalves, kMin>(p, a + t * nb, nb, c0, nc, y + t * w.rows + rb, w.rows, m0, m1, first);
      const int64_t left = n - t;
      float* yt = y + t * w.rows + rb;
      const ActQ8* at = a + t * nb;
      if (left == 3) qpanel_tile<3, kHalves, kMin>(p, at, nb, c0, nc, yt, w.rows, m0, m1, first);
      if (left == 2) qpanel_tile<2, kHalves, kMin>(p, at, nb, c0, nc, yt, w.rows, m0, m1, first);
      if (left == 1) qpanel_tile<1, kHalves, kMin>(p, at, nb, c0, nc, yt, w.rows, m0, m1, first);
    }
  }
}

// Float panel: [column][row group][row] f32.
struct FPanel {
  alignas(64) float v[kSegCols][2][16];
};

// kChains interleaved sums over the columns per output keep the f32 rounding close to the 4-token tiles'.
template <int T>
void fpanel_tile(const FPanel& p, const float* x, int64_t ldx, int64_t nk, float* y, int64_t ldy, __mmask16 m0,
                 __mmask16 m1, bool first) {
  constexpr int kChains = 2;
  __m512 acc[kChains][T][2];
  for (int c = 0; c < kChains; ++c)
    for (int t = 0; t < T; ++t) acc[c][t][0] = acc[c][t][1] = _mm512_setzero_ps();
  auto step = [&](int c, int64_t k) {
    const __m512 w0 = _mm512_load_ps(p.v[k][0]), w1 = _mm512_load_ps(p.v[k][1]);
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_set1_ps(x[t * ldx + k]);
      acc[c][t][0] = _mm512_fmadd_ps(w0, xv, acc[c][t][0]);
      acc[c][t][1] = _mm512_fmadd_ps(w1, xv, acc[c][t][1]);
    }
  };
  int64_t k = 0;
  for (; k + kChains <= nk; k += kChains)
    for (int c = 0; c < kChains; ++c) step(c, k + c);
  for (; k < nk; ++k) step(0, k);
  for (int t = 0; t < T; ++t) {
    put16(y + t * ldy, _mm512_add_ps(acc[0][t][0], acc[1][t][0]), m0, first);
    if (m1) put16(y + t * ldy + 16, _mm512_add_ps(acc[0][t][1], acc[1][t][1]), m1, first);
  }
}

template <class Load>
void gemm_f(const MatView& w, const float* x, int64_t n, int64_t r0, int64_t r1, float* y) {
  constexpr int kT = 6;
  FPanel p;
  for (int64_t rb = r0; rb < r1; rb += 32) {
    const int64_t rows = std::min<int64_t>(32, r1 - rb);
    const __mmask16 m0 = row_mask(rows), m1 = rows > 16 ? row_mask(rows - 16) : 0;
    for (int64_t k0 = 0; k0 < w.cols; k0 += kSegCols) {
      const int64_t nk = std::min(kSegCols, w.cols - k0);
      fpanel_fill<Load>(w, rb, rows, k0, nk, p.v);
      const bool first = k0 == 0;
      int64_t t = 0;
      for (; t + kT <= n; t += kT)
        fpanel_tile<kT>(p, x + t * w.cols + k0, w.cols, nk, y + t * w.rows + rb, w.rows, m0, m1, first);
      const float* xt = x + t * w.cols + k0;
      float* yt = y + t * w.rows + rb;
      switch (n - t) {
        case 5: fpanel_tile<5>(p, xt, w.cols, nk, yt, w.rows, m0, m1, first); break;
        case 4: fpanel_tile<4>(p, xt, w.cols, nk, yt, w.rows, m0, m1, first); break;
        case 3: fpanel_tile<3>(p, xt, w.cols, nk, yt, w.rows, m0, m1, first); break;
        case 2: fpanel_tile<2>(p, xt, w.cols, nk, yt, w.rows, m0, m1, first); break;
        case 1: fpanel_tile<1>(p, xt, w.cols, nk, yt, w.rows, m0, m1, first); break;
        default: break;
      }
    }
  }
}

}  // namespace

bool gemm_supports(DType t) {
  switch (t) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0:
    case DType::IQ4_NL: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
    case DType::F32: case DType::F16: case DType::BF16:
      return true;
    default:
      return false;
  }
}

void gemm_rows(const MatView& w, const float* x, const void* xa, int64_t n, int64_t r0, int64_t r1, float* y) {
  switch (w.type) {
    case DType::Q4_0: return gemm_q<DecQ4_0>(w, xa, n, r0, r1, y);
    case DType::Q4_1: return gemm_q<DecQ4_1>(w, xa, n, r0, r1, y);
    case DType::Q5_0: return gemm_q<DecQ5_0>(w, xa, n, r0, r1, y);
    case DType::Q5_1: return gemm_q<DecQ5_1>(w, xa, n, r0, r1, y);
    case DType::Q8_0: return gemm_q<DecQ8_0>(w, xa, n, r0, r1, y);
    case DType::IQ4_NL: return gemm_q<DecIQ4_NL>(w, xa, n, r0, r1, y);
    case DType::Q4_K: return gemm_q<DecQ4_K>(w, xa, n, r0, r1, y);
    case DType::Q5_K: return gemm_q<DecQ5_K>(w, xa, n, r0, r1, y);
    case DType::Q6_K: return gemm_q<DecQ6_K>(w, xa, n, r0, r1, y);
    case DType::F32: return gemm_f<LoadF32>(w, x, n, r0, r1, y);
    case DType::F16: return gemm_f<LoadF16>(w, x, n, r0, r1, y);
    case DType::BF16: return gemm_f<LoadBF16>(w, x, n, r0, r1, y);
    default: return;  // gemm_supports() is false: the table does not route it here
  }
}

}  // namespace slm::kernels::cpu::avx512
