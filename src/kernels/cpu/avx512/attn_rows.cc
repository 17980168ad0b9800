// See attn_rows.h. Scores take 4 rows at a time (4 independent FMA chains, their horizontal sums together);
// values keep up to 128 columns of the output in registers while every row of the run passes.
#include "kernels/cpu/avx512/attn_rows.h"

#include <immintrin.h>

#include <algorithm>

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

}  // namespace

void dot_f16_rows(std::span<const float> a, const f16* rows, size_t stride, size_t n, float* out) {
  const size_t d = a.size(), full = d / 16 * 16;
  const __mmask16 tm = __mmask16((1u << (d % 16)) - 1);
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const f16* r0 = rows + j * stride;
    const f16 *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i < full; i += 16) {
      const __m512 av = _mm512_loadu_ps(a.data() + i);
      s0 = _mm512_fmadd_ps(ld16(r0 + i), av, s0);
      s1 = _mm512_fmadd_ps(ld16(r1 + i), av, s1);
      s2 = _mm512_fmadd_ps(ld16(r2 + i), av, s2);
      s3 = _mm512_fmadd_ps(ld16(r3 + i), av, s3);
    }
    if (tm) {
      const __m512 av = _mm512_maskz_loadu_ps(tm, a.data() + i);
      s0 = _mm512_fmadd_ps(ld16(r0 + i, tm), av, s0);
      s1 = _mm512_fmadd_ps(ld16(r1 + i, tm), av, s1);
      s2 = _mm512_fmadd_ps(ld16(r2 + i, tm), av, s2);
      s3 = _mm512_fmadd_ps(ld16(r3 + i, tm), av, s3);
    }
    _mm_storeu_ps(out + j, sum4(s0, s1, s2, s3));
  }
  for (; j < n; ++j) {
    const f16* r = rows + j * stride;
    __m512 s = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < full; i += 16) s = _mm512_fmadd_ps(ld16(r + i), _mm512_loadu_ps(a.data() + i), s);
    if (tm) s = _mm512_fmadd_ps(ld16(r + i, tm), _mm512_maskz_loadu_ps(tm, a.data() + i), s);
    const __m512 z = _mm512_setzero_ps();
    out[j] = _mm_cvtss_f32(sum4(s, z, z, z));  // the same summation order as inside a group of 4
  }
}

void axpy_f16_rows(std::span<const float> p, const f16* rows, size_t stride, std::span<float> y) {
  // Up to 8 column blocks of 16 per pass, rows in order: each output is one FMA chain over the rows, the
  // same arithmetic as one axpy per row (so splitting a run changes nothing).
  const size_t n = p.size(), d = y.size();
  for (size_t i0 = 0; i0 < d; i0 += 128) {
    const int nc = int(std::min<size_t>(8, (d - i0 + 15) / 16));
    __m512 s[8];
    __mmask16 m[8];
    for (int c = 0; c < nc; ++c) {
      const size_t i = i0 + 16 * size_t(c);
      m[c] = d - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (d - i)) - 1);
      s[c] = _mm512_maskz_loadu_ps(m[c], y.data() + i);
    }
    for (size_t j = 0; j < n; ++j) {
      const __m512 pj = _mm512_set1_ps(p[j]);
      const f16* r = rows + j * stride + i0;
      for (int c = 0; c < nc; ++c) s[c] = _mm512_fmadd_ps(ld16(r + 16 * c, m[c]), pj, s[c]);
    }
    for (int c = 0; c < nc; ++c) _mm512_mask_storeu_ps(y.data() + i0 + 16 * size_t(c), m[c], s[c]);
  }
}

}  // namespace slm::kernels::cpu::avx512
