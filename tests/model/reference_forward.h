// A plain reference forward pass for the tests: straightforward loops over every position, float64
// accumulation, weights dequantised to double up front, no KV cache. Deliberately shares no code with
// src/model beyond ModelConfig (whose reading is tested on its own).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/gguf.h"
#include "model/config.h"

namespace slm::testing {

// Logits [tokens.size(), n_vocab] of one sequence starting at position 0.
std::vector<double> reference_forward(const gguf::File& f, const model::ModelConfig& cfg,
                                      std::span<const int32_t> tokens);

// mean((a - b)^2) / mean(b^2)
double nmse(std::span<const float> a, std::span<const float> b);
double nmse(std::span<const float> a, std::span<const double> b);

}  // namespace slm::testing
