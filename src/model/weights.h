// Weights: matrices as views into the mapped file (never copied), small vectors (norms, biases, rope
// factors) as floats. TensorBinder looks tensors up by GGUF name and checks their shapes.
#pragma once

#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "model/config.h"

namespace slm::gguf {
class File;
}

namespace slm::model {

using kernels::MatView;

// One LoRA adapter on one projection: y += scale * B (A x). a: (rank, in), b: (out, rank), F32 views into
// storage the Model keeps (model/lora.h).
struct LoraMat {
  MatView a, b;
  float scale = 1.0f;
  int adapter = 0;  // Model::add_lora index (Batch::adapters selects rows by it)
};
enum LoraSite { kLoraQ, kLoraK, kLoraV, kLoraO, kLoraGate, kLoraUp, kLoraDown, kLoraSites };

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> post_attn_norm, post_ffn_norm;  // gemma2
  std::vector<float> q_norm, k_norm;                 // qwen3: [head_dim]
  std::vector<float> bq, bk, bv;                     // qwen2
  MatView wq, wk, wv, wo;                            // wq: (q_dim, dim), wk/wv: (kv_dim, dim), wo: (dim, q_dim)
  MatView w_gate, w_up, w_down;                      // gate/up: (ffn, dim), down: (dim, ffn)
  std::vector<LoraMat> lora[kLoraSites];             // adapters per projection (usually none)
};

struct Weights {
  MatView tok_embd;              // (n_vocab, dim)
  MatView output;                // (n_vocab, dim); equals tok_embd when tied
  std::vector<float> output_norm;
  std::vector<float> rope_freqs;  // [rope_dim / 2] divisors, empty when absent
  std::vector<LayerWeights> layers;
};

// Finds tensors of a GGUF by name and checks dims against what the config implies.
class TensorBinder {
 public:
  explicit TensorBinder(const gguf::File& f) : f_(f) {}
  bool has(const std::string& name) const;
  // A (rows, cols) matrix: GGUF ne = [cols, rows]. Any type quant can dequantise.
  MatView mat(const std::string& name, int64_t rows, int64_t cols) const;
  // A 1-D tensor of n values as floats (F32/F16/BF16 or any dequantisable type).
  std::vector<float> vec(const std::string& name, int64_t n) const;
  // The number of rows of a 2-D tensor (e.g. n_vocab from token_embd), checking its column count.
  int64_t rows_of(const std::string& name, int64_t cols) const;

 private:
  const gguf::File& f_;
};

std::string layer_tensor(int layer, const char* suffix);  // "blk.<layer>.<suffix>"

// The tensors every llama-like family shares: token_embd, output_norm, output (or tied), and per layer
// attn_norm, attn_q/k/v/output, ffn_norm, ffn_gate/up/down. Families add or replace what differs.
void bind_llama_like(const TensorBinder& b, ModelConfig& cfg, Weights& w, bool fused_qkv = false,
                     bool fused_gate_up = false);

}  // namespace slm::model
