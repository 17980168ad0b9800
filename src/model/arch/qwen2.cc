// qwen2: HF Qwen2ForCausalLM = Llama with q/k/v projection biases and NEOX (rotate_half) RoPE.
#include "io/gguf.h"
#include "model/registry.h"

namespace slm::model {
namespace {

ModelConfig read_config(const gguf::File& f) {
  ModelConfig c = read_common_config(f, "qwen2");
  c.rope_style = RopeStyle::neox;
  c.qkv_bias = true;
  return c;
}

void bind(const TensorBinder& b, ModelConfig& cfg, Weights& w) {
  bind_llama_like(b, cfg, w);
  for (int l = 0; l < cfg.n_layer; ++l) {
    LayerWeights& L = w.layers[size_t(l)];
    L.bq = b.vec(layer_tensor(l, "attn_q.bias"), cfg.q_dim());
    L.bk = b.vec(layer_tensor(l, "attn_k.bias"), cfg.kv_dim());
    L.bv = b.vec(layer_tensor(l, "attn_v.bias"), cfg.kv_dim());
  }
}

}  // namespace

const ArchSpec& arch_qwen2() {
  static const ArchSpec spec{.name = "qwen2", .read_config = read_config, .bind = bind};
  return spec;
}

}  // namespace slm::model
