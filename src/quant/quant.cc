// The per-type traits table: which row codec handles each tensor type. Adding a type is one row here.
#include "quant/quant.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "core/error.h"
#include "quant/types/types.h"

namespace slm::quant {
namespace {

struct TypeCodec {
  DType type;
  void (*dequantize_row)(const void* src, float* dst, int64_t n);
  void (*quantize_row)(const float* src, void* dst, int64_t n, const float* imatrix);
};

using namespace detail;
constexpr TypeCodec kCodecs[] = {
    {DType::F32, dequantize_f32, quantize_f32},         {DType::F16, dequantize_f16, quantize_f16},
    {DType::BF16, dequantize_bf16, quantize_bf16},      {DType::Q4_0, dequantize_q4_0, quantize_q4_0},
    {DType::Q4_1, dequantize_q4_1, quantize_q4_1},      {DType::Q5_0, dequantize_q5_0, quantize_q5_0},
    {DType::Q5_1, dequantize_q5_1, quantize_q5_1},      {DType::Q8_0, dequantize_q8_0, quantize_q8_0},
    {DType::Q8_1, dequantize_q8_1, quantize_q8_1},      {DType::Q2_K, dequantize_q2_k, quantize_q2_k},      {DType::Q3_K, dequantize_q3_k, quantize_q3_k},
    {DType::Q4_K, dequantize_q4_k, quantize_q4_k},      {DType::Q5_K, dequantize_q5_k, quantize_q5_k},
    {DType::Q6_K, dequantize_q6_k, quantize_q6_k},      {DType::Q8_K, dequantize_q8_k, quantize_q8_k},
    {DType::IQ4_NL, dequantize_iq4_nl, quantize_iq4_nl}, {DType::IQ4_XS, dequantize_iq4_xs, quantize_iq4_xs},
};

const TypeCodec* find_codec(DType t) {
  for (const TypeCodec& c : kCodecs)
    if (c.type == t) return &c;
  return nullptr;
}

const TypeCodec& codec_or_throw(DType t, const char* what) {
  const TypeCodec* c = find_codec(t);
  if (!c) fail("[quant] no {} for tensor type {} (id {})", what, type_name(t), uint32_t(t));
  return *c;
}

void check_length(DType t, int64_t n, const char* what) {
  const int64_t bs = dtype_info(t).block_size;
  if (n < 0 || n % bs != 0)
    fail("[quant] {}: {} elements is not a multiple of the {} block size {}", what, n, dtype_info(t).name, bs);
}

}  // namespace

std::string_view type_name(DType t) {
  const std::optional<DTypeInfo> info = dtype_info(uint32_t(t));
  return info ? info->name : std::string_view("unknown");
}

bool can_dequantize(DType t) { return find_codec(t) != nullptr; }
bool can_quantize(DType t) { return find_codec(t) != nullptr; }

void dequantize(DType t, const void* src, float* dst, int64_t n) {
  const TypeCodec& c = codec_or_throw(t, "dequantiser");
  check_length(t, n, "dequantize");
  c.dequantize_row(src, dst, n);
}

void quantize(DType t, const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  const TypeCodec& c = codec_or_throw(t, "quantiser");
  check_length(t, n_per_row, "quantize");
  if (n_rows < 0) fail("[quant] quantize: negative row count {}", n_rows);
  const size_t bytes = row_bytes(t, n_per_row);
  for (int64_t r = 0; r < n_rows; ++r)
    c.quantize_row(src + r * n_per_row, static_cast<char*>(dst) + size_t(r) * bytes, n_per_row, imatrix);
}

void quantize_parallel(DType t, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                       const float* imatrix, int n_threads) {
  codec_or_throw(t, "quantiser");
  check_length(t, n_per_row, "quantize");
  if (n_rows < 0) fail("[quant] quantize: negative row count {}", n_rows);
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t per = (n_rows + n_threads - 1) / std::max(n_threads, 1);
  if (n_threads == 1 || n_rows <= 1) return quantize(t, src, dst, n_rows, n_per_row, imatrix);
  const size_t bytes = row_bytes(t, n_per_row);
  std::vector<std::jthread> workers;
  for (int64_t r0 = 0; r0 < n_rows; r0 += per) {
    const int64_t rows = std::min(per, n_rows - r0);
    workers.emplace_back([=] {
      quantize(t, src + r0 * n_per_row, static_cast<char*>(dst) + size_t(r0) * bytes, rows, n_per_row, imatrix);
    });
  }
}

}  // namespace slm::quant
