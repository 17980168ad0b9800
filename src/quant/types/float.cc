// F32, F16 and BF16 rows: plain copies and the round-to-nearest-even conversions of core/f16.h.
#include <cstring>

#include "core/f16.h"
#include "quant/types/types.h"

namespace slm::quant::detail {

void dequantize_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }
void quantize_f32(const float* src, void* dst, int64_t n, const float*) { std::memcpy(dst, src, size_t(n) * 4); }

void dequantize_f16(const void* src, float* dst, int64_t n) {
  const f16* h = static_cast<const f16*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
}
void quantize_f16(const float* src, void* dst, int64_t n, const float*) {
  f16* h = static_cast<f16*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
}

void dequantize_bf16(const void* src, float* dst, int64_t n) {
  const bf16* h = static_cast<const bf16*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
}
void quantize_bf16(const float* src, void* dst, int64_t n, const float*) {
  bf16* h = static_cast<bf16*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
}

}  // namespace slm::quant::detail
