// Architectures by GGUF general.architecture: each arch/<family>.cc defines one ArchSpec.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/model.h"
#include "model/weights.h"

namespace slm::model {

struct ArchSpec {
  std::string_view name;  // general.architecture
  // Reads hyper-parameters from metadata (clear errors for missing keys); n_vocab may be left 0.
  ModelConfig (*read_config)(const gguf::File& f);
  // Binds tensors into `w`, completing cfg (n_vocab, tied_embeddings, has_rope_freqs).
  void (*bind)(const TensorBinder& b, ModelConfig& cfg, Weights& w);
  // The family's forward pass; nullptr = the shared decoder (model/forward.h), which every family here
  // uses because their differences are ModelConfig values. A family with a different graph sets its own.
  void (*forward)(const ModelConfig& cfg, const Weights& w, const Batch& batch, KvCache& kv,
                  std::span<float> logits_out) = nullptr;
};

const ArchSpec& arch_llama();
const ArchSpec& arch_qwen2();
const ArchSpec& arch_qwen3();
const ArchSpec& arch_phi3();
const ArchSpec& arch_gemma2();

// nullptr for an architecture the engine does not know.
const ArchSpec* find_arch(std::string_view name);
std::vector<std::string_view> arch_names();

}  // namespace slm::model
