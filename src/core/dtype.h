// Tensor element types as GGUF numbers them, with their block geometry: the one table every layer reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace slm {

// Ids are the GGUF / ggml type ids written in files; never renumber.
enum class DType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // as llama.cpp prints it: "q4_K" is written "Q4_K" here
  int64_t block_size;     // elements per block (1 for plain types)
  size_t block_bytes;     // bytes per block
};

// Geometry of a type id read from a file; nullopt for ids GGUF does not define.
std::optional<DTypeInfo> dtype_info(uint32_t id);
const DTypeInfo& dtype_info(DType t);  // the type must be defined
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive "q4_k", "F16", ...

// Bytes of a row of n elements; n must be a multiple of the block size.
inline size_t row_bytes(DType t, int64_t n) {
  const DTypeInfo& d = dtype_info(t);
  return size_t(n / d.block_size) * d.block_bytes;
}

}  // namespace slm
