// Float conversions, the q/k rope permutation and output-type rules for the converters.
#include "convert/tensor_ops.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "core/f16.h"
#include "quant/quant.h"

namespace slm::convert {

std::vector<float> to_f32(DType t, std::span<const uint8_t> bytes, int64_t n) {
  if (t != DType::F32 && t != DType::F16 && t != DType::BF16)
    fail("[convert] cannot decode tensors of type {}", dtype_info(t).name);
  std::vector<float> out(static_cast<size_t>(n));
  const size_t es = t == DType::F32 ? 4 : 2;
  SLM_CHECK(bytes.size() >= size_t(n) * es, "to_f32: {} bytes for {} elements", bytes.size(), n);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = bytes.data() + size_t(i) * es;
    if (t == DType::F32) {
      std::memcpy(&out[size_t(i)], p, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      out[size_t(i)] = t == DType::F16 ? f16_to_f32(f16{h}) : bf16_to_f32(bf16{h});
    }
  }
  return out;
}

std::vector<uint8_t> from_f32(DType t, std::span<const float> x, int64_t n_rows, int64_t n_per_row) {
  SLM_CHECK(int64_t(x.size()) == n_rows * n_per_row, "from_f32: {} floats for {}x{}", x.size(), n_rows, n_per_row);
  if (t == DType::F32) {
    std::vector<uint8_t> out(x.size() * 4);
    if (!x.empty()) std::memcpy(out.data(), x.data(), out.size());
    return out;
  }
  if (t == DType::F16 || t == DType::BF16) {
    std::vector<uint8_t> out(x.size() * 2);
    for (size_t i = 0; i < x.size(); ++i) {
      const uint16_t h = t == DType::F16 ? f32_to_f16(x[i]).bits : f32_to_bf16(x[i]).bits;
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
    return out;
  }
  if (!quant::can_quantize(t)) fail("[convert] cannot quantise to {}", dtype_info(t).name);
  std::vector<uint8_t> out(size_t(n_rows) * row_bytes(t, n_per_row));
  quant::quantize(t, x.data(), out.data(), n_rows, n_per_row);
  return out;
}

namespace {

// to_gguf: GGUF row (h, 2i + j) takes Hugging Face row (h, j * half + i); the inverse otherwise.
std::vector<uint8_t> permute_rows(std::span<const uint8_t> w, int64_t n_rows, size_t rb, int64_t n_head, bool to_gguf) {
  if (n_head <= 0 || n_rows % n_head != 0 || (n_rows / n_head) % 2 != 0)
    fail("[convert] cannot permute {} rows for rope over {} heads", n_rows, n_head);
  SLM_CHECK(w.size() == size_t(n_rows) * rb, "permute: {} bytes for {} rows of {}", w.size(), n_rows, rb);
  const int64_t hd = n_rows / n_head, half = hd / 2;
  std::vector<uint8_t> out(w.size());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t g = h * hd + 2 * i + j, f = h * hd + j * half + i;
        const int64_t dst = to_gguf ? g : f, src = to_gguf ? f : g;
        std::memcpy(out.data() + size_t(dst) * rb, w.data() + size_t(src) * rb, rb);
      }
  return out;
}

}  // namespace

std::vector<uint8_t> permute_qk(std::span<const uint8_t> w, int64_t n_rows, size_t row_bytes, int64_t n_head) {
  return permute_rows(w, n_rows, row_bytes, n_head, true);
}

std::vector<uint8_t> unpermute_qk(std::span<const uint8_t> w, int64_t n_rows, size_t row_bytes, int64_t n_head) {
  return permute_rows(w, n_rows, row_bytes, n_head, false);
}

DType output_type(const std::string& name, size_t n_dims, int64_t row_len, DType src, std::optional<DType> want) {
  if (n_dims <= 1 || name.ends_with("_norm.weight") || !name.ends_with(".weight")) return DType::F32;
  const DType t = want.value_or(src);
  if (dtype_info(t).block_size > 1 && row_len % dtype_info(t).block_size != 0) return DType::F16;
  return t;
}

uint32_t file_type_of(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q8_0: return 7;
    case DType::BF16: return 32;
    default: fail("[convert] no file type for {}", dtype_info(t).name);
  }
}

}  // namespace slm::convert
