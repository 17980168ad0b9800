// phi3: HF Phi3ForCausalLM. Fused attn_qkv (rows [q; k; v]) and fused ffn_up (rows [gate; up]) are bound
// as row-range views, so the forward pass is the shared one. NEOX RoPE, sliding window on every layer.
#include "core/error.h"
#include "io/gguf.h"
#include "model/registry.h"

namespace slm::model {
namespace {

ModelConfig read_config(const gguf::File& f) {
  ModelConfig c = read_common_config(f, "phi3");
  c.rope_style = RopeStyle::neox;
  c.sliding_window = int(meta_int_or(f, "phi3", "attention.sliding_window", 0));
  return c;
}

void bind(const TensorBinder& b, ModelConfig& cfg, Weights& w) {
  if (b.has("rope_factors_long.weight") || b.has("rope_factors_short.weight"))
    fail("[model] phi3: LongRoPE scaling (rope_factors_long/short) is not supported");
  bind_llama_like(b, cfg, w, /*fused_qkv=*/true, /*fused_gate_up=*/true);
}

}  // namespace

const ArchSpec& arch_phi3() {
  static const ArchSpec spec{.name = "phi3", .read_config = read_config, .bind = bind};
  return spec;
}

}  // namespace slm::model
