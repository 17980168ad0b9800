// Writing training results: LoRA adapters as PEFT safetensors (adapter_config.json +
// adapter_model.safetensors) and as llama.cpp GGUF LoRA; full weights as a GGUF model.
#pragma once

#include <string>

#include "train/net.h"

namespace slm::gguf {
class File;
}

namespace slm::train {

// dir/adapter_config.json and dir/adapter_model.safetensors (F32). Tensor names follow PEFT:
// base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight [r, in], ...lora_B.weight [out, r].
// q/k lora_B rows are put back in Hugging Face order when the GGUF rows were permuted (normal RoPE).
void write_peft_adapter(const Net<float>& net, const std::string& dir, const std::string& base_model);

// GGUF LoRA: general.type=adapter, adapter.type=lora, adapter.lora.alpha; tensors
// blk.N.attn_q.weight.lora_a (ne [in, r]) and .lora_b (ne [r, out]), F32.
void write_gguf_adapter(const Net<float>& net, const std::string& path);

// The full model as GGUF (F32 matrices): metadata copied from `base` (when given) else from the config.
void write_gguf_model(const Net<float>& net, const gguf::File* base, const std::string& path);

// Adds scale * alpha / rank * B A of every adapter in a GGUF LoRA file into the base tensors of `net`.
void merge_gguf_adapter(Net<float>& net, const std::string& path, float scale = 1.0f);

// Inverse of the llama GGUF q/k row permutation for a (rows, cols) matrix with rows = n_heads * head_dim.
std::vector<float> unpermute_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int n_heads);

}  // namespace slm::train
