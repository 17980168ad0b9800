// Tiny random-weight GGUF models of every supported family, written with gguf::Writer for unit tests
// (no test data needed). Knobs let tests break one thing at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/gguf.h"

namespace slm::testing {

struct TinySpec {
  std::string arch = "llama";  // llama, qwen2, qwen3, phi3, gemma2 (tensor layout follows it)
  DType type = DType::F32;     // 2-D matrices; 1-D tensors stay F32
  int dim = 64, n_layer = 2, n_head = 4, n_head_kv = 2, head_dim = 16, ffn = 96, vocab = 97, ctx = 64;
  bool tied = true;
  bool rope_freqs = false;     // llama: write rope_freqs.weight
  int sliding_window = 0;      // phi3 / gemma2
  uint64_t seed = 1;
  // Applied to the finished writer (drop a tensor, change a key) before writing.
  std::function<void(gguf::Writer&)> edit = {};
  // Tensors to leave out and metadata keys to leave out (full names).
  std::vector<std::string> drop_tensors = {}, drop_keys = {};
};

// Writes the model to `path`.
void write_tiny_model(const TinySpec& spec, const std::string& path);

}  // namespace slm::testing
