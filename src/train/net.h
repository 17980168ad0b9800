// The training graph of a llama-family decoder (llama, qwen2 biases, gemma-style GeGLU/embed scale):
// parameters with gradients, optional LoRA adapters on q/k/v/o/gate/up/down, and a loss + backward over one
// token sequence. Templated on float (training) and double (gradient checks).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "model/config.h"

namespace slm::model {
class Model;
}

namespace slm::train {

struct DistillConfig;   // train/distill.h
struct TeacherTargets;

// A named tensor: rows x cols values (1-D tensors have rows = 1) and its gradient (empty when frozen).
template <class T>
struct Tensor {
  std::string name;  // GGUF name: "blk.0.attn_q.weight"; LoRA: "blk.0.attn_q.weight.lora_a"
  int64_t rows = 0, cols = 0;
  std::vector<T> w, g;
  bool trainable = false;
  // A frozen base matrix kept in a quantised type (qlora): q holds `rows` rows of `qtype`, w stays empty
  // and the matmuls dequantise tiles of rows on the fly.
  DType qtype = DType::F32;
  std::vector<uint8_t> q;
  bool quantised() const { return !q.empty(); }
  bool empty() const { return w.empty() && q.empty(); }
  int64_t size() const { return rows * cols; }
  kernels::MatView view() const;  // of q (quantised) or of w (float only)
  size_t bytes() const { return w.size() * sizeof(T) + g.size() * sizeof(T) + q.size(); }
};

enum Target { kQ, kK, kV, kO, kGate, kUp, kDown, kNumTargets };
const char* target_peft_name(int t);  // "q_proj", ..., "down_proj"
const char* target_gguf_name(int t);  // "attn_q", ..., "ffn_down"
int target_from_name(const std::string& s);  // "q", "q_proj" or "attn_q" -> index; -1 when unknown

struct LoraConfig {
  int rank = 0;  // 0: no adapters
  float alpha = 16.0f;
  float dropout = 0.0f;
  std::array<bool, kNumTargets> targets{true, true, true, true, true, true, true};
  float scale() const { return rank > 0 ? alpha / float(rank) : 0.0f; }
};

template <class T>
struct Lora {
  Tensor<T> a, b;  // a: (rank, in), b: (out, rank)
};

template <class T>
struct Layer {
  Tensor<T> attn_norm, ffn_norm;
  std::array<Tensor<T>, kNumTargets> w;  // wq (q_dim, dim) ... w_down (dim, ffn)
  Tensor<T> bq, bk, bv;                  // qwen2
  Tensor<T> q_norm, k_norm;              // qwen3: per-head RMSNorm of q and k (head_dim)
  Tensor<T> post_attn_norm, post_ffn_norm;  // gemma2: RMSNorm of the attention and MLP outputs
  std::array<Lora<T>, kNumTargets> lora;
};

// One training sequence: tokens, the target of each position (the next token) and its loss weight.
struct Sequence {
  std::vector<int32_t> tokens, targets;
  std::vector<float> weights;  // 1 where the loss counts, 0 for prompt tokens
};

template <class T>
class Net {
 public:
  // Base weights of a loaded model, frozen unless full fine-tuning asks for them: dequantised to T, or with
  // keep_quantised (qlora) every matrix stored in a non-F32 type keeps its bytes and type.
  static Net from_model(const model::Model& m, bool keep_quantised = false);
  // Random weights for a config (pretraining from scratch and tests): normal(0, stddev), norms at 1.
  static Net random(const model::ModelConfig& cfg, uint64_t seed, float stddev = 0.02f);

  const model::ModelConfig& config() const { return cfg_; }
  const LoraConfig& lora_config() const { return lora_cfg_; }
  // Makes every base tensor trainable (full mode).
  void set_full_trainable();
  // Adds LoRA adapters (A ~ kaiming-uniform like PEFT, B = 0) and freezes the base.
  void add_lora(const LoraConfig& lc, uint64_t seed);
  // qlora: stores every frozen F32 base matrix (projections, embeddings, output) whose width is a multiple
  // of the type's block in `type` (Q4_0, Q4_K, Q8_0, ...); returns how many were converted.
  int quantise_base(DType type);
  // Bytes held by weights, gradients and quantised bases (not optimiser state or activations).
  size_t weight_bytes();

  std::vector<Tensor<T>*> tensors();            // every tensor, base then adapters
  std::vector<Tensor<T>*> trainable();          // those with gradients
  void zero_grad();

  // Forward + backward of one sequence: returns the weighted loss sum (not averaged); gradients of the
  // trainable tensors accumulate grad_scale * d(loss)/d(param). dropout_seed varies the LoRA dropout mask.
  // With a teacher (distillation) the loss is DistillConfig's mix of KL and cross-entropy; last_kl() then
  // holds the weighted KL sum of the sequence.
  double loss_and_backward(const Sequence& s, double grad_scale, uint64_t dropout_seed = 0,
                           bool backward = true, const TeacherTargets* teacher = nullptr,
                           const DistillConfig* distill = nullptr);
  double last_kl() const { return last_kl_; }
  // Logits of every position (n, vocab), no gradients (tests and greedy checks).
  std::vector<T> logits(const std::vector<int32_t>& tokens);

  void set_pool(ThreadPool* pool) { pool_ = pool; }
  // Gradient checkpointing: the forward keeps only each layer's input and the backward recomputes the
  // layer's activations from it (same results, less memory, one more forward of compute).
  void set_checkpointing(bool on) { checkpointing_ = on; }
  // Peak bytes held by the per-layer activation caches during the last loss_and_backward.
  size_t last_peak_activation_bytes() const { return peak_activation_bytes_; }
  std::vector<Layer<T>> layers;
  Tensor<T> tok_embd, output, output_norm;  // output empty when tied
  std::vector<float> rope_freqs;

 private:
  struct Impl;
  model::ModelConfig cfg_;
  LoraConfig lora_cfg_;
  ThreadPool* pool_ = nullptr;
  double last_kl_ = 0;
  bool checkpointing_ = false;
  size_t peak_activation_bytes_ = 0;
};

extern template class Net<float>;
extern template class Net<double>;

}  // namespace slm::train
