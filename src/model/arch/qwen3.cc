// qwen3: HF Qwen3ForCausalLM = Llama with per-head RMSNorm of q and k (weight [head_dim]) before NEOX
// RoPE, no biases, head_dim from key_length (may differ from dim / n_head).
#include "io/gguf.h"
#include "model/registry.h"

namespace slm::model {
namespace {

ModelConfig read_config(const gguf::File& f) {
  ModelConfig c = read_common_config(f, "qwen3");
  c.rope_style = RopeStyle::neox;
  c.qk_norm = true;
  return c;
}

void bind(const TensorBinder& b, ModelConfig& cfg, Weights& w) {
  bind_llama_like(b, cfg, w);
  for (int l = 0; l < cfg.n_layer; ++l) {
    LayerWeights& L = w.layers[size_t(l)];
    L.q_norm = b.vec(layer_tensor(l, "attn_q_norm.weight"), cfg.head_dim);
    L.k_norm = b.vec(layer_tensor(l, "attn_k_norm.weight"), cfg.head_dim);
  }
}

}  // namespace

const ArchSpec& arch_qwen3() {
  static const ArchSpec spec{.name = "qwen3", .read_config = read_config, .bind = bind};
  return spec;
}

}  // namespace slm::model
