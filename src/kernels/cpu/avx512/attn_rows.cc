// See attn_rows.h. Scores take 4 rows at a time for up to 4 query heads (16 independent FMA chains, each
// head's 4 horizontal sums together); values keep 64 columns of up to 4 heads' outputs in registers while
// every row of the run passes. Each score is one FMA chain over the columns and each output one FMA chain
// over the rows, whatever the grouping: a head gets the same bits alone or with its group.
#include "kernels/cpu/avx512/attn_rows.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/x86/head_blocks.h"

// GCC 12's AVX-512 intrinsics start masked and converting loads from _mm512_undefined_*(), which its
// flow analysis reports as uninitialised; the values are fully overwritten.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace slm::kernels::cpu::avx512 {
namespace {

// 16 (or the masked first `m` lanes of 16) f16 values widened.
inline __m512 ld16(const f16* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline __m512 ld16(const f16* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

// The four horizontal sums of s0..s3 in one pass: halve every register twice across 128-bit lanes (two
// registers per shuffle), then finish inside the lanes.
inline __m128 sum4(__m512 s0, __m512 s1, __m512 s2, __m512 s3) {
  // [s0 lanes 0+2, 1+3 | s1 lanes 0+2, 1+3] and the same for s2, s3
  const __m512 t01 = _mm512_add_ps(_mm512_shuffle_f32x4(s0, s1, 0x44), _mm512_shuffle_f32x4(s0, s1, 0xEE));
  const __m512 t23 = _mm512_add_ps(_mm512_shuffle_f32x4(s2, s3, 0x44), _mm512_shuffle_f32x4(s2, s3, 0xEE));
  // one 128-bit lane per register: s0, s1, s2, s3
  const __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(t01, t23, 0x88), _mm512_shuffle_f32x4(t01, t23, 0xDD));
  const __m512 v = _mm512_add_ps(u, _mm512_permute_ps(u, 0x4E));  // + the other 64-bit half of each lane
  const __m512 w = _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));  // + the neighbour: element 0 of each lane
  return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), w));
}

// Heads [0, G) of the group against rows [0, n): s[h][r] runs over the columns in order, then 4 rows' sums
// reduce together (sum4 keeps each register's order, so a lone row reduces the same way).
template <int G>
void dot_heads(const float* a, size_t d, const f16* rows, size_t stride, size_t n, float* out, size_t os) {
  const size_t full = d / 16 * 16;
  const __mmask16 tm = __mmask16((1u << (d % 16)) - 1);
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const f16* r0 = rows + j * stride;
    const f16 *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
    __m512 s[G][4];
    for (int h = 0; h < G; ++h) s[h][0] = s[h][1] = s[h][2] = s[h][3] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < full; i += 16) {
      const __m512 k0 = ld16(r0 + i), k1 = ld16(r1 + i), k2 = ld16(r2 + i), k3 = ld16(r3 + i);
      for (int h = 0; h < G; ++h) {
        const __m512 av = _mm512_loadu_ps(a + size_t(h) * d + i);
        s[h][0] = _mm512_fmadd_ps(k0, av, s[h][0]);
        s[h][1] = _mm512_fmadd_ps(k1, av, s[h][1]);
        s[h][2] = _mm512_fmadd_ps(k2, av, s[h][2]);
        s[h][3] = _mm512_fmadd_ps(k3, av, s[h][3]);
      }
    }
    if (tm) {
      const __m512 k0 = ld16(r0 + i, tm), k1 = ld16(r1 + i, tm), k2 = ld16(r2 + i, tm), k3 = ld16(r3 + i, tm);
      for (int h = 0; h < G; ++h) {
        const __m512 av = _mm512_maskz_loadu_ps(tm, a + size_t(h) * d + i);
        s[h][0] = _mm512_fmadd_ps(k0, av, s[h][0]);
        s[h][1] = _mm512_fmadd_ps(k1, av, s[h][1]);
        s[h][2] = _mm512_fmadd_ps(k2, av, s[h][2]);
        s[h][3] = _mm512_fmadd_ps(k3, av, s[h][3]);
      }
    }
    for (int h = 0; h < G; ++h) _mm_storeu_ps(out + size_t(h) * os + j, sum4(s[h][0], s[h][1], s[h][2], s[h][3]));
  }
  for (; j < n; ++j) {
    const f16* r = rows + j * stride;
    __m512 s[G];
    for (int h = 0; h < G; ++h) s[h] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < full; i += 16) {
      const __m512 kv = ld16(r + i);
      for (int h = 0; h < G; ++h) s[h] = _mm512_fmadd_ps(kv, _mm512_loadu_ps(a + size_t(h) * d + i), s[h]);
    }
    if (tm) {
      const __m512 kv = ld16(r + i, tm);
      for (int h = 0; h < G; ++h) s[h] = _mm512_fmadd_ps(kv, _mm512_maskz_loadu_ps(tm, a + size_t(h) * d + i), s[h]);
    }
    const __m512 z = _mm512_setzero_ps();
    for (int h = 0; h < G; ++h) out[size_t(h) * os + j] = _mm_cvtss_f32(sum4(s[h], z, z, z));
  }
}

// Heads [0, G) of the group: y[h] += sum over rows of p[h][j] * row j, 64 columns per pass (masked past d),
// rows in order in every pass.
template <int G>
void axpy_heads(const float* p, size_t ps, size_t n, const f16* rows, size_t stride, float* y, size_t d) {
  for (size_t i0 = 0; i0 < d; i0 += 64) {
    __mmask16 m[4];
    __m512 s[G][4];
    for (int c = 0; c < 4; ++c) {
      const size_t i = i0 + 16 * size_t(c);
      m[c] = i >= d ? __mmask16(0) : d - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (d - i)) - 1);
      for (int h = 0; h < G; ++h) s[h][c] = _mm512_maskz_loadu_ps(m[c], y + size_t(h) * d + i);
    }
    for (size_t j = 0; j < n; ++j) {
      const f16* r = rows + j * stride + i0;
      const __m512 v0 = ld16(r, m[0]), v1 = ld16(r + 16, m[1]), v2 = ld16(r + 32, m[2]), v3 = ld16(r + 48, m[3]);
      for (int h = 0; h < G; ++h) {
        const __m512 pj = _mm512_set1_ps(p[size_t(h) * ps + j]);
        s[h][0] = _mm512_fmadd_ps(v0, pj, s[h][0]);
        s[h][1] = _mm512_fmadd_ps(v1, pj, s[h][1]);
        s[h][2] = _mm512_fmadd_ps(v2, pj, s[h][2]);
        s[h][3] = _mm512_fmadd_ps(v3, pj, s[h][3]);
      }
    }
    for (int c = 0; c < 4; ++c) {
      for (int h = 0; h < G; ++h) _mm512_mask_storeu_ps(y + size_t(h) * d + i0 + 16 * size_t(c), m[c], s[h][c]);
    }
  }
}

}  // namespace

void to_f16(std::span<const float> x, f16* y) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const size_t n = x.size();
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x.data() + i), kRound));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x.data() + i), kRound));
  }
}

void dot_f16_rows(const float* a, size_t g, size_t d, const f16* rows, size_t stride, size_t n, float* out,
                  size_t out_stride) {
  x86::head_blocks(g, [&](size_t h, auto G) {
    dot_heads<G()>(a + h * d, d, rows, stride, n, out + h * out_stride, out_stride);
  });
}

void axpy_f16_rows(const float* p, size_t g, size_t p_stride, size_t n, const f16* rows, size_t stride, float* y,
                   size_t d) {
  x86::head_blocks(g, [&](size_t h, auto G) {
    axpy_heads<G()>(p + h * p_stride, p_stride, n, rows, stride, y + h * d, d);
  });
}

}  // namespace slm::kernels::cpu::avx512
