// Decode attention over runs of f16 cache rows on 512-bit registers (CpuKernels::dot_f16_rows and
// axpy_f16_rows): one call per run of positions instead of one per position.
#pragma once

#include <cstddef>
#include <span>

#include "core/f16.h"

namespace slm::kernels::cpu::avx512 {

void dot_f16_rows(std::span<const float> a, const f16* rows, size_t stride, size_t n, float* out);
void axpy_f16_rows(std::span<const float> p, const f16* rows, size_t stride, std::span<float> y);

}  // namespace slm::kernels::cpu::avx512
