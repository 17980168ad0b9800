// See attn_rows.h. AVX2 has 16 vector registers: scores take 2 rows at a time for up to 4 query heads (8
// FMA chains), values keep 16 columns of up to 4 heads' outputs in registers while every row of the run
// passes. Each score is one FMA chain over the columns and each output one FMA chain over the rows,
// whatever the grouping: a head gets the same bits alone or with its group.
#include "kernels/cpu/avx2/attn_rows.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/x86/head_blocks.h"

namespace slm::kernels::cpu::avx2 {
namespace {

// 8 f16 values widened; the first m < 8 of them (the rest zero) through a small buffer.
inline __m256 ld8(const f16* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m256 ld8(const f16* p, size_t m) {
  alignas(16) f16 b[8] = {};
  std::memcpy(b, p, m * sizeof(f16));
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(b)));
}

// Lanes [0, m) set (m <= 8): masked loads and stores of a float tail.
inline __m256i lanes(size_t m) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(m)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The sums of a's and b's 8 lanes, in lanes 0 and 1; each reduces the same way whatever the other holds.
inline __m128 sum2(__m256 a, __m256 b) {
  const __m256 t = _mm256_hadd_ps(a, b);  // a01 a23 b01 b23 | a45 a67 b45 b67
  const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  return _mm_hadd_ps(u, u);  // a, b, a, b
}

// Heads [0, G) of the group against rows [0, n): s[h][r] runs over the columns in order, 8 at a time.
template <int G>
void dot_heads(const float* a, size_t d, const f16* rows, size_t stride, size_t n, float* out, size_t os) {
  const size_t full = d / 8 * 8, tail = d - full;
  const __m256i tm = lanes(tail);
  size_t j = 0;
  for (; j + 2 <= n; j += 2) {
    const f16 *r0 = rows + j * stride, *r1 = r0 + stride;
    __m256 s[G][2];
    for (int h = 0; h < G; ++h) s[h][0] = s[h][1] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i < full; i += 8) {
      const __m256 k0 = ld8(r0 + i), k1 = ld8(r1 + i);
      for (int h = 0; h < G; ++h) {
        const __m256 av = _mm256_loadu_ps(a + size_t(h) * d + i);
        s[h][0] = _mm256_fmadd_ps(k0, av, s[h][0]);
        s[h][1] = _mm256_fmadd_ps(k1, av, s[h][1]);
      }
    }
    if (tail) {
      const __m256 k0 = ld8(r0 + i, tail), k1 = ld8(r1 + i, tail);
      for (int h = 0; h < G; ++h) {
        const __m256 av = _mm256_maskload_ps(a + size_t(h) * d + i, tm);
        s[h][0] = _mm256_fmadd_ps(k0, av, s[h][0]);
        s[h][1] = _mm256_fmadd_ps(k1, av, s[h][1]);
      }
    }
    for (int h = 0; h < G; ++h) {
      alignas(16) float r[4];
      _mm_store_ps(r, sum2(s[h][0], s[h][1]));
      out[size_t(h) * os + j] = r[0], out[size_t(h) * os + j + 1] = r[1];
    }
  }
  if (j < n) {
    const f16* r0 = rows + j * stride;
    __m256 s[G];
    for (int h = 0; h < G; ++h) s[h] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i < full; i += 8) {
      const __m256 k0 = ld8(r0 + i);
      for (int h = 0; h < G; ++h) s[h] = _mm256_fmadd_ps(k0, _mm256_loadu_ps(a + size_t(h) * d + i), s[h]);
    }
    if (tail) {
      const __m256 k0 = ld8(r0 + i, tail);
      for (int h = 0; h < G; ++h) s[h] = _mm256_fmadd_ps(k0, _mm256_maskload_ps(a + size_t(h) * d + i, tm), s[h]);
    }
    for (int h = 0; h < G; ++h) out[size_t(h) * os + j] = _mm_cvtss_f32(sum2(s[h], _mm256_setzero_ps()));
  }
}

// Heads [0, G) of the group: y[h] += sum over rows of p[h][j] * row j, 16 columns per pass (masked past d),
// rows in order in every pass.
template <int G>
void axpy_heads(const float* p, size_t ps, size_t n, const f16* rows, size_t stride, float* y, size_t d) {
  for (size_t i0 = 0; i0 < d; i0 += 16) {
    const size_t w0 = std::min<size_t>(8, d - i0), w1 = d - i0 > 8 ? std::min<size_t>(8, d - i0 - 8) : 0;
    const __m256i m0 = lanes(w0), m1 = lanes(w1);
    __m256 s[G][2];
    for (int h = 0; h < G; ++h) {
      s[h][0] = _mm256_maskload_ps(y + size_t(h) * d + i0, m0);
      s[h][1] = w1 ? _mm256_maskload_ps(y + size_t(h) * d + i0 + 8, m1) : _mm256_setzero_ps();
    }
    if (w0 == 8 && w1 == 8) {
      for (size_t j = 0; j < n; ++j) {
        const f16* r = rows + j * stride + i0;
        const __m256 v0 = ld8(r), v1 = ld8(r + 8);
        for (int h = 0; h < G; ++h) {
          const __m256 pj = _mm256_broadcast_ss(p + size_t(h) * ps + j);
          s[h][0] = _mm256_fmadd_ps(v0, pj, s[h][0]);
          s[h][1] = _mm256_fmadd_ps(v1, pj, s[h][1]);
        }
      }
    } else {
      for (size_t j = 0; j < n; ++j) {
        const f16* r = rows + j * stride + i0;
        const __m256 v0 = ld8(r, w0), v1 = w1 ? ld8(r + 8, w1) : _mm256_setzero_ps();
        for (int h = 0; h < G; ++h) {
          const __m256 pj = _mm256_broadcast_ss(p + size_t(h) * ps + j);
          s[h][0] = _mm256_fmadd_ps(v0, pj, s[h][0]);
          s[h][1] = _mm256_fmadd_ps(v1, pj, s[h][1]);
        }
      }
    }
    for (int h = 0; h < G; ++h) {
      _mm256_maskstore_ps(y + size_t(h) * d + i0, m0, s[h][0]);
      if (w1) _mm256_maskstore_ps(y + size_t(h) * d + i0 + 8, m1, s[h][1]);
    }
  }
}

}  // namespace

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

}  // namespace slm::kernels::cpu::avx2
