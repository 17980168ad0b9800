// Reference (scalar, obviously correct) quantise and dequantise for every supported tensor type.
// Block layouts live in quant/blocks.h; each type's code lives in its own file (quant/types/<family>.cc).
#pragma once

#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace slm::quant {

bool can_dequantize(DType t);
bool can_quantize(DType t);

// src: n elements' worth of blocks of type t; dst: n floats. n must be a multiple of the block size.
void dequantize(DType t, const void* src, float* dst, int64_t n);

// Quantises n_rows rows of n_per_row floats into rows of type t (row_bytes(t, n_per_row) each).
// imatrix (optional, n_per_row values): per-column importance weights for the error being minimised.
void quantize(DType t, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
              const float* imatrix = nullptr);

}  // namespace slm::quant
