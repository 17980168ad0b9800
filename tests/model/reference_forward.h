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

// Whether the active kernel table quantises activations to int8 for weights of type t (the SIMD tables
// do for integer block types, as llama.cpp does). The engine then sits ~1e-4 NMSE from a float64 forward
// (models/synthetic/README: 2.4e-4..6.2e-4 for llama.cpp's equivalent), instead of ~1e-13.
bool int8_activations(DType t);
// The NMSE bound for engine vs reference_forward on a model holding weights of the given types:
// 1e-10 with float activations (float vs double accumulation only), 2e-3 (the README's bound for
// quantised models) when some matmul quantises its activations.
double engine_vs_reference_bound(std::span<const DType> weight_types);
double engine_vs_reference_bound(const gguf::File& f);

// mean((a - b)^2) / mean(b^2)
double nmse(std::span<const float> a, std::span<const float> b);
double nmse(std::span<const float> a, std::span<const double> b);

}  // namespace slm::testing
