// Architecture families known to the Hugging Face <-> GGUF converters: names, tensor-name maps,
// the config.json <-> GGUF hyper-parameter map, and the per-tensor transforms each format needs.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/gguf.h"

namespace slm::convert {

struct Family {
  std::string_view gguf_arch;   // general.architecture: "llama", "qwen2", ...
  std::string_view hf_class;    // config.json architectures[0] written by the exporter
  std::string_view model_type;  // config.json model_type
  bool permute_qk = false;      // GGUF stores q/k rows in the interleaved-pair rope order (llama, mistral)
  bool norm_plus_one = false;   // GGUF stores RMSNorm weights as (1 + w) (gemma2)
};

// By config.json "architectures"[0] (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, ...);
// nullptr when unknown.
const Family* family_for_hf_class(std::string_view hf_class);
const Family* family_for_gguf_arch(std::string_view arch);
std::string known_hf_classes();  // "LlamaForCausalLM, ..." for error messages

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nullopt when the name has no GGUF
// counterpart (the caller decides: skip rotary caches, fail otherwise).
std::optional<std::string> gguf_tensor_name(const Family& f, std::string_view hf_name);
std::optional<std::string> hf_tensor_name(const Family& f, std::string_view gguf_name);
// Names the converters drop without complaint (rotary caches, masks).
bool is_ignorable_hf_tensor(std::string_view hf_name);

// Hyper-parameters: config.json -> "<arch>.*" metadata in llama.cpp's keys and types, and back.
std::vector<gguf::KeyValue> hparams_to_gguf(const Family& f, const nlohmann::json& config);
nlohmann::json hparams_to_hf(const Family& f, const gguf::File& g);

// Head counts the q/k permutation needs (from config.json).
struct HeadCounts {
  int64_t n_head = 0, n_head_kv = 0;
};
HeadCounts head_counts(const nlohmann::json& config);

// Tensors llama.cpp's converter computes from config.json: rope_freqs.weight (llama, "llama3" rope
// scaling) and rope_factors_long/short.weight (phi3 "longrope"/"su"/"yarn" scaling), in writing order.
std::vector<std::pair<std::string, std::vector<float>>> generated_tensors(const Family& f, const nlohmann::json& config);

// Llama 3.1 "llama3" rope scaling: the rope_freqs factors llama.cpp's converter writes (one per rotated
// pair), from config.json's rope_scaling, rope_theta and head size. Empty when config has no such scaling.
std::vector<float> llama3_rope_factors(const nlohmann::json& config);

}  // namespace slm::convert
