// ModelConfig: the hyper-parameters of a decoder-only transformer, read from GGUF metadata or a
// llama2.c header. Architectures differ only by these values (and by how arch/<family>.cc binds tensors).
#pragma once

#include <cstdint>
#include <string>

namespace slm::gguf {
class File;
}

namespace slm::model {

enum class RopeStyle {
  normal,  // rotate adjacent pairs (x[2i], x[2i+1]): GGUF llama (q/k rows permuted by the converter), llama2.c
  neox,    // rotate (x[i], x[i + rope_dim/2]): HF rotate_half; qwen2, qwen3, phi3, gemma2
};
enum class Activation { silu, gelu_tanh };  // gated MLP: down(act(gate) * up)

struct ModelConfig {
  std::string arch;      // general.architecture ("llama", "qwen2", ...; "llama" for a llama2.c .bin)
  int n_vocab = 0;
  int n_ctx = 0;         // context length the model was trained for; the default KV cache size
  int dim = 0;           // embedding_length
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;      // key_length (defaults to dim / n_head)
  int ffn_dim = 0;       // feed_forward_length
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  int rope_dim = 0;      // rotated dimensions per head (rope.dimension_count, defaults to head_dim)
  RopeStyle rope_style = RopeStyle::normal;
  Activation act = Activation::silu;
  bool tied_embeddings = false;  // no output.weight: logits use token_embd
  bool has_rope_freqs = false;   // rope_freqs.weight divides each frequency (Llama 3.1 scaling)
  bool qkv_bias = false;         // qwen2
  bool qk_norm = false;          // qwen3: per-head RMSNorm of q and k before RoPE
  bool post_norms = false;       // gemma2: RMSNorm after attention and after the MLP
  float embed_scale = 1.0f;      // gemma2: sqrt(dim)
  float attn_softcap = 0.0f;     // gemma2: scores -> cap * tanh(scores / cap); 0 = off
  float final_softcap = 0.0f;    // gemma2: logits -> cap * tanh(logits / cap); 0 = off
  int sliding_window = 0;        // 0 = off; else key j visible from query i iff i - j < window
  int sliding_layer_period = 0;  // 0 = every layer slides (when sliding_window > 0); 2 = even layers only
  float query_scale = 0.0f;      // attention score scale; 0 = 1/sqrt(head_dim)

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }
  bool layer_slides(int layer) const {
    return sliding_window > 0 && (sliding_layer_period == 0 || layer % sliding_layer_period == 0);
  }
  float attn_scale() const;
  // Throws slm::Error("[model] ...") when values are missing or inconsistent (n_vocab only when asked:
  // it is known once the embedding tensor is bound).
  void validate(bool check_vocab = true) const;
};

// Helpers for arch/<family>.cc: read "<arch>.<key>" with clear errors.
int64_t meta_int(const gguf::File& f, const std::string& arch, const std::string& key);  // required
int64_t meta_int_or(const gguf::File& f, const std::string& arch, const std::string& key, int64_t def);
double meta_float_or(const gguf::File& f, const std::string& arch, const std::string& key, double def);
// The common keys every family shares (context, embedding, blocks, ffn, heads, key_length, eps, rope base).
ModelConfig read_common_config(const gguf::File& f, const std::string& arch);

}  // namespace slm::model
