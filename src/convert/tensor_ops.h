// Tensor helpers shared by the converters: float decoding/encoding, the q/k rope row permutation,
// and the output-type rule.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.h"

namespace slm::convert {

// Decodes n elements of F32 / F16 / BF16 to float.
std::vector<float> to_f32(DType t, std::span<const uint8_t> bytes, int64_t n);
// Encodes rows of floats to `t` (F32, F16, BF16 or any type the quantiser supports, e.g. Q8_0).
std::vector<uint8_t> from_f32(DType t, std::span<const float> x, int64_t n_rows, int64_t n_per_row);

// llama.cpp's q/k permutation, on whole rows of `row_bytes` bytes: rows are grouped per head as
// [pairs of half A | half B]; GGUF interleaves them. w: (n_rows, row) with n_rows = n_head * head_dim.
// permute_qk maps Hugging Face order to GGUF order; unpermute_qk is its inverse.
std::vector<uint8_t> permute_qk(std::span<const uint8_t> w, int64_t n_rows, size_t row_bytes, int64_t n_head);
std::vector<uint8_t> unpermute_qk(std::span<const uint8_t> w, int64_t n_rows, size_t row_bytes, int64_t n_head);

// The GGUF type a tensor gets: 1-D tensors, norms and biases F32; matrices `want` (nullopt: `src`);
// Q8_0 falls back to F16 when a row is not a multiple of its block.
DType output_type(const std::string& gguf_name, size_t n_dims, int64_t row_len, DType src,
                  std::optional<DType> want);

// general.file_type for a main weight type (llama_ftype numbering: F32 0, F16 1, Q8_0 7, BF16 32).
uint32_t file_type_of(DType t);

}  // namespace slm::convert
