// Random-weight models of real shapes (PERF.md's benchmark models and small test shapes), written as GGUF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "io/gguf.h"

namespace slm {

struct SynthShape {
  std::string name;
  std::string arch;  // general.architecture: llama or qwen2
  int64_t hidden, layers, heads, kv_heads, ffn, vocab;
  double rope_theta;
  float norm_eps;
  bool qkv_bias;             // qwen2
  bool llama3_rope_scaling;  // rope_freqs.weight from Llama 3.x's factors
  int64_t context;
};

std::optional<SynthShape> synth_shape(std::string_view name);
std::vector<std::string> synth_shape_names();

struct SynthOptions {
  DType type = DType::F16;  // of the 2-D weight matrices; norms and biases stay F32
  uint64_t seed = 1;
  float stddev = 0.02f;
  // A GGUF whose tokenizer.* metadata is copied (its vocabulary size replaces the shape's); when null, a
  // byte-level vocabulary of the shape's size is made up (256 byte tokens, then merged pairs).
  const gguf::File* vocab = nullptr;
};

// Writes the model to `path`; throws slm::Error when the type cannot be quantised or the vocab is unusable.
void write_synth_model(const SynthShape& shape, const SynthOptions& opt, const std::string& path);

}  // namespace slm
