// llama: Llama 2/3 (HF LlamaForCausalLM), TinyLlama, SmolLM, Mistral. "normal" RoPE on adjacent pairs
// (the GGUF converter permutes q/k rows), optional Llama-3.1 frequency divisors in rope_freqs.weight.
#include "core/error.h"
#include "io/gguf.h"
#include "model/registry.h"

namespace slm::model {
namespace {

ModelConfig read_config(const gguf::File& f) {
  ModelConfig c = read_common_config(f, "llama");
  c.rope_style = RopeStyle::normal;
  c.sliding_window = int(meta_int_or(f, "llama", "attention.sliding_window", 0));  // Mistral v0.1
  return c;
}

void bind(const TensorBinder& b, ModelConfig& cfg, Weights& w) {
  bind_llama_like(b, cfg, w);
  cfg.has_rope_freqs = b.has("rope_freqs.weight");
  if (cfg.has_rope_freqs) w.rope_freqs = b.vec("rope_freqs.weight", cfg.rope_dim / 2);
}

}  // namespace

const ArchSpec& arch_llama() {
  static const ArchSpec spec{.name = "llama", .read_config = read_config, .bind = bind};
  return spec;
}

}  // namespace slm::model
