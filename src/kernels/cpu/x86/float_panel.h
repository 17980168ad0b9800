// The float prefill panels' fill, shared by cpu/avx2/gemm.cc and cpu/avx512/gemm.cc: included inside the
// including file's ISA namespace after decoders.h (the Load classes). Rows [rb, rb + rows) of w and columns
// [k0, k0 + nk) widened to f32 as v[column][row group][row], two groups of kG rows (8: one ymm, 16: one
// zmm); rows past `rows` are zero.
#pragma once

template <class Load, size_t kCols, size_t kG>
void fpanel_fill(const MatView& w, int64_t rb, int64_t rows, int64_t k0, int64_t nk, float (&v)[kCols][2][kG]) {
  for (int64_t i = 0; i < int64_t(2 * kG); ++i) {
    const size_t g = size_t(i) / kG, r = size_t(i) % kG;
    if (i >= rows) {
      for (int64_t k = 0; k < nk; ++k) v[k][g][r] = 0.0f;
      continue;
    }
    const uint8_t* row = w.row(rb + i);
    int64_t k = 0;
    alignas(32) float buf[8];
    for (; k + 8 <= nk; k += 8) {
      _mm256_store_ps(buf, Load::load8(row, k0 + k));
      for (int j = 0; j < 8; ++j) v[k + j][g][r] = buf[j];
    }
    for (; k < nk; ++k) v[k][g][r] = Load::load1(row, k0 + k);
  }
}
