// The scalar oracle: plain loops with double accumulation, the definition every kernel table is tested
// against. Same contracts as the CpuKernels entries of the same name.
#pragma once

#include "kernels/kernels.h"

namespace slm::kernels::reference {

void matmul(const MatView& w, std::span<const float> x, int64_t n, std::span<float> y);
void row_to_f32(const MatView& w, int64_t r, std::span<float> dst);
void rmsnorm(std::span<const float> x, std::span<const float> w, float eps, std::span<float> y);
float dot(std::span<const float> a, std::span<const float> b);
float dot_f16(std::span<const float> a, const f16* b);
void axpy(float a, std::span<const float> x, std::span<float> y);
void axpy_f16(float a, const f16* x, std::span<float> y);
void to_f16(std::span<const float> x, f16* y);
void add(std::span<const float> x, std::span<float> y);
void scale(std::span<float> x, float s);
void softmax(std::span<float> x);
void softcap(std::span<float> x, float cap);
void silu_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out);
void gelu_tanh_mul(std::span<const float> gate, std::span<const float> up, std::span<float> out);

// Dequantises elements [c0, c0 + dst.size()) of row r; c0 and dst.size() are multiples of the block size.
void row_chunk_to_f32(const MatView& w, int64_t r, int64_t c0, std::span<float> dst);

}  // namespace slm::kernels::reference
