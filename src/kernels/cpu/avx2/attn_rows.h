// Decode attention over runs of f16 cache rows on 256-bit registers (CpuKernels::dot_f16_rows and
// axpy_f16_rows), the AVX2 counterpart of cpu/avx512/attn_rows.h: one call per run of positions and per
// group of query heads that share a kv head, so each cache row is loaded and widened once for the group.
#pragma once

#include <cstddef>

#include "core/f16.h"

namespace slm::kernels::cpu::avx2 {

void dot_f16_rows(const float* a, size_t g, size_t d, const f16* rows, size_t stride, size_t n, float* out,
                  size_t out_stride);
void axpy_f16_rows(const float* p, size_t g, size_t p_stride, size_t n, const f16* rows, size_t stride, float* y,
                   size_t d);

}  // namespace slm::kernels::cpu::avx2
