// gemma2: HF Gemma2ForCausalLM. Embeddings scaled by sqrt(dim); RMSNorm weights stored as (1 + w) by the
// converter; RMSNorm after attention and after the MLP; GeLU-tanh gated MLP; attention and final-logit
// soft-capping; a sliding window on even layers; NEOX RoPE; tied output.
#include <cmath>

#include "core/error.h"
#include "io/gguf.h"
#include "model/registry.h"

namespace slm::model {
namespace {

ModelConfig read_config(const gguf::File& f) {
  ModelConfig c = read_common_config(f, "gemma2");
  c.rope_style = RopeStyle::neox;
  c.act = Activation::gelu_tanh;
  c.post_norms = true;
  c.embed_scale = float(std::sqrt(double(c.dim)));
  c.attn_softcap = float(meta_float_or(f, "gemma2", "attn_logit_softcapping", 50.0));
  c.final_softcap = float(meta_float_or(f, "gemma2", "final_logit_softcapping", 30.0));
  c.sliding_window = int(meta_int_or(f, "gemma2", "attention.sliding_window", 4096));
  c.sliding_layer_period = 2;
  // HF query_pre_attn_scalar: head_dim for 2B and 9B, dim / n_head for 27B (46 layers).
  const double pre = c.n_layer == 46 && c.n_head > 0 ? double(c.dim) / c.n_head : double(c.head_dim);
  c.query_scale = float(1.0 / std::sqrt(pre));
  return c;
}

void bind(const TensorBinder& b, ModelConfig& cfg, Weights& w) {
  bind_llama_like(b, cfg, w);
  for (int l = 0; l < cfg.n_layer; ++l) {
    LayerWeights& L = w.layers[size_t(l)];
    L.post_attn_norm = b.vec(layer_tensor(l, "post_attention_norm.weight"), cfg.dim);
    L.post_ffn_norm = b.vec(layer_tensor(l, "post_ffw_norm.weight"), cfg.dim);
  }
}

}  // namespace

const ArchSpec& arch_gemma2() {
  static const ArchSpec spec{.name = "gemma2", .read_config = read_config, .bind = bind};
  return spec;
}

}  // namespace slm::model
