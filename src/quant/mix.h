// llama.cpp file types (LLAMA_FTYPE_*) and the per-tensor type choice of their mixes (_S/_M/_L), with the
// fallbacks for rows that do not fit a type's block size. Names and shapes only: no file access here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace slm::quant {

// A target file type: `id` is llama.cpp's general.file_type number, `base` the default tensor type.
struct FileType {
  std::string_view name;  // "Q4_K_M"
  uint32_t id;            // LLAMA_FTYPE_MOSTLY_Q4_K_M = 15
  DType base;             // Q4_K
};
std::optional<FileType> file_type_from_name(std::string_view name);  // case-insensitive
std::span<const FileType> file_types();                              // every supported one

// What the mix needs to know about the model (read from GGUF metadata by the caller).
struct MixModel {
  std::string arch = "llama";
  int n_layer = 0;
  int n_head = 0, n_head_kv = 0;  // n_gqa = n_head / n_head_kv
  int n_expert = 0;
  bool has_imatrix = false;
};

struct MixTensor {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order: ne[0] is the row length
  DType type = DType::F32;  // the source type
};

// True when llama.cpp would quantise this tensor: the name ends in "weight", it has >= 2 dims, and it is
// not a norm, positional embedding or other small special tensor.
bool should_quantize(const MixTensor& t);

// The type a block-size misfit falls back to (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
// Q2_K/Q3_K/IQ4_XS -> IQ4_NL; F16 when even that does not fit). Returns t when row_len fits.
DType fallback_type(DType t, int64_t row_len);

// The type of every tensor (same order as `tensors`) for file type `ft`: the mix rules of llama.cpp
// (output/token_embd, attn_v and ffn_down on the use_more_bits layer schedule, attn_output, attn_qkv),
// counted over the tensors in name order as llama-quantize does, then the fallbacks. Tensors that are not
// quantised keep their source type. pure = no mix (every quantised tensor gets ft.base, with fallbacks).
// before_fallback (optional): receives the types the mix chose before the fallbacks.
std::vector<DType> choose_types(const FileType& ft, std::span<const MixTensor> tensors, const MixModel& m,
                                bool pure = false, std::vector<DType>* before_fallback = nullptr);

}  // namespace slm::quant
