// Reference (scalar, obviously correct) quantise and dequantise for every supported tensor type.
// Block layouts live in quant/blocks.h; each type's code lives in its own file (quant/types/<family>.cc).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/dtype.h"

namespace slm::quant {

bool can_dequantize(DType t);
bool can_quantize(DType t);
std::string_view type_name(DType t);  // "Q4_K"; "unknown" for ids GGUF does not define

// src: n elements' worth of blocks of type t; dst: n floats. n must be a multiple of the block size
// (else slm::Error). Decoding is bit-exact with the GGUF reference decoders.
void dequantize(DType t, const void* src, float* dst, int64_t n);

// Quantises n_rows rows of n_per_row floats into rows of type t (row_bytes(t, n_per_row) each).
// imatrix (optional, n_per_row values): per-column importance weights for the error being minimised.
// Rows are independent: callers may split rows across threads. Without an imatrix, Q4_0 Q4_1 Q5_0 Q5_1
// Q8_0 give llama.cpp's bytes; the k-quants and IQ4 types search scales for the least squared error.
// Supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ4_NL IQ4_XS
// (Q8_1 and Q8_K are the activation formats of dot products: reference rounding, no imatrix).
void quantize(DType t, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
              const float* imatrix = nullptr);

// As quantize, splitting the rows over n_threads threads (0: one per hardware thread). Same bytes.
void quantize_parallel(DType t, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                       const float* imatrix, int n_threads);

}  // namespace slm::quant
