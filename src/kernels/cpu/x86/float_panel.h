// The float prefill panels' fill, shared by cpu/avx2/gemm.cc and cpu/avx512/gemm.cc: included inside the
// including file's ISA namespace after decoders.h (the Load classes). Rows [rb, rb + rows) of w and columns
// [k0, k0 + nk) widened to f32 as v[column][row group][row], two groups of kG rows (8: one ymm, 16: one
// zmm); rows past `rows` are zero.
#pragma once

// 8 x 8 transpose: r[i] holds 8 columns of row i on entry, 8 rows of column i on exit.
inline void transpose8_ps(__m256 (&r)[8]) {
  __m256 u[8];
  for (int i = 0; i < 8; i += 2) {
    u[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // r0c0 r1c0 r0c1 r1c1 | c4 c5
    u[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // c2 c3 | c6 c7
  }
  __m256 s[8];
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < 2; ++q) {  // q: rows 0-3 (u[0..3]) and 4-7 (u[4..7])
      const __m256 a = u[4 * q + h], b = u[4 * q + 2 + h];
      s[4 * q + 2 * h] = _mm256_shuffle_ps(a, b, 0x44);      // columns 2h and 2h + 4: 4 rows each
      s[4 * q + 2 * h + 1] = _mm256_shuffle_ps(a, b, 0xEE);  // columns 2h + 1 and 2h + 5
    }
  for (int j = 0; j < 4; ++j) {  // s[j]: rows 0-3 of columns j | j + 4; s[4 + j]: rows 4-7
    r[j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
    r[j + 4] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
  }
}

// Blocks of 8 rows x 8 columns widened and transposed in registers (the scalar scatter it replaced took
// ~10% of a 512-token F16 product on AVX2); the last columns of a segment one at a time.
template <class Load, size_t kCols, size_t kG>
void fpanel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t k0, int64_t nk, float (&v)[kCols][2][kG]) {
  static_assert(kG % 8 == 0);
  const int64_t nk8 = nk / 8 * 8;
  for (int64_t i0 = 0; i0 < int64_t(2 * kG); i0 += 8) {
    const size_t g = size_t(i0) / kG, r0 = size_t(i0) % kG;
    const uint8_t* row[8];
    for (int i = 0; i < 8; ++i) row[i] = i0 + i < rows ? w.row(rb + i0 + i) : nullptr;
    for (int64_t k = 0; k < nk8; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = row[i] ? Load::load8(row[i], k0 + k) : _mm256_setzero_ps();
      transpose8_ps(r);
      for (int j = 0; j < 8; ++j) _mm256_storeu_ps(&v[k + j][g][r0], r[j]);
    }
    for (int64_t k = nk8; k < nk; ++k)
      for (int i = 0; i < 8; ++i) v[k][g][r0 + i] = row[i] ? Load::load1(row[i], k0 + k) : 0.0f;
  }
}
