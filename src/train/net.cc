// The llama-family training graph: forward with cached activations, then the backward in reverse order.
// Mirrors model/forward.cc (embed -> layers [norm, attention, residual, norm, gated MLP, residual] -> norm,
// output) for the configs it supports.
#include "train/net.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/weights.h"
#include "quant/quant.h"
#include "train/ops.h"

namespace slm::train {
namespace {

constexpr const char* kPeft[kNumTargets] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                            "down_proj"};
constexpr const char* kGguf[kNumTargets] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                                            "ffn_down"};
constexpr const char* kShort[kNumTargets] = {"q", "k", "v", "o", "gate", "up", "down"};

void check_supported(const model::ModelConfig& c) {
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
    fail("[train] {} heads do not group over {} kv heads", c.n_head, c.n_head_kv);
}

template <class T>
Tensor<T> make(std::string name, int64_t rows, int64_t cols, bool alloc = true) {
  Tensor<T> t;
  t.name = std::move(name);
  t.rows = rows, t.cols = cols;
  if (alloc) t.w.assign(size_t(rows * cols), T(0));
  return t;
}

template <class T>
std::array<int64_t, 2> target_shape(const model::ModelConfig& c, int t) {
  const int64_t d = c.dim, qd = c.q_dim(), kd = c.kv_dim(), f = c.ffn_dim;
  const std::array<std::array<int64_t, 2>, kNumTargets> s = {
      {{qd, d}, {kd, d}, {kd, d}, {d, qd}, {f, d}, {f, d}, {d, f}}};
  return s[size_t(t)];
}

template <class T>
// alloc_mats false: the matrices get their storage when loaded (a quantised base never exists in float).
Net<T> skeleton(const model::ModelConfig& c, bool alloc_mats = true) {
  Net<T> n;
  n.tok_embd = make<T>("token_embd.weight", c.n_vocab, c.dim, alloc_mats);
  n.output_norm = make<T>("output_norm.weight", 1, c.dim);
  if (!c.tied_embeddings) n.output = make<T>("output.weight", c.n_vocab, c.dim, alloc_mats);
  n.layers.resize(size_t(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) {
    Layer<T>& L = n.layers[size_t(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    L.attn_norm = make<T>(p + "attn_norm.weight", 1, c.dim);
    L.ffn_norm = make<T>(p + "ffn_norm.weight", 1, c.dim);
    for (int t = 0; t < kNumTargets; ++t) {
      const auto s = target_shape<T>(c, t);
      L.w[size_t(t)] = make<T>(p + kGguf[t] + ".weight", s[0], s[1], alloc_mats);
    }
    if (c.qk_norm) {
      L.q_norm = make<T>(p + "attn_q_norm.weight", 1, c.head_dim);
      L.k_norm = make<T>(p + "attn_k_norm.weight", 1, c.head_dim);
    }
    if (c.post_norms) {
      L.post_attn_norm = make<T>(p + "post_attention_norm.weight", 1, c.dim);
      L.post_ffn_norm = make<T>(p + "post_ffw_norm.weight", 1, c.dim);
    }
    if (c.qkv_bias) {
      L.bq = make<T>(p + "attn_q.bias", 1, c.q_dim());
      L.bk = make<T>(p + "attn_k.bias", 1, c.kv_dim());
      L.bv = make<T>(p + "attn_v.bias", 1, c.kv_dim());
    }
  }
  return n;
}

template <class T>
void load_mat(const kernels::MatView& m, Tensor<T>& t, bool keep_quantised) {
  SLM_CHECK(m.rows == t.rows && m.cols == t.cols, "{}: {}x{} vs {}x{}", t.name, m.rows, m.cols, t.rows, t.cols);
  if (keep_quantised && m.type != DType::F32) {
    const size_t rb = row_bytes(m.type, m.cols);
    std::vector<T>().swap(t.w);
    t.qtype = m.type;
    t.q.resize(rb * size_t(m.rows));
    for (int64_t r = 0; r < m.rows; ++r) std::memcpy(t.q.data() + size_t(r) * rb, m.row(r), rb);
    return;
  }
  t.w.resize(size_t(m.rows * m.cols));
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  std::vector<float> row(size_t(m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    k.row_to_f32(m, r, row);
    for (int64_t c = 0; c < m.cols; ++c) t.w[size_t(r * m.cols + c)] = T(row[size_t(c)]);
  }
}

template <class T>
void load_vec(const std::vector<float>& v, Tensor<T>& t) {
  SLM_CHECK(int64_t(v.size()) == t.size(), "{}", t.name);
  for (size_t i = 0; i < v.size(); ++i) t.w[i] = T(v[i]);
}

}  // namespace

const char* target_peft_name(int t) { return kPeft[t]; }
const char* target_gguf_name(int t) { return kGguf[t]; }
int target_from_name(const std::string& s) {
  for (int t = 0; t < kNumTargets; ++t)
    if (s == kPeft[t] || s == kGguf[t] || s == kShort[t]) return t;
  return -1;
}

template <class T>
Net<T> Net<T>::from_model(const model::Model& m, bool keep_quantised) {
  const model::ModelConfig& c = m.config();
  check_supported(c);
  Net<T> n = skeleton<T>(c, false);
  n.cfg_ = c;
  const model::Weights& w = m.weights();
  load_mat(w.tok_embd, n.tok_embd, keep_quantised);
  load_vec(w.output_norm, n.output_norm);
  if (!c.tied_embeddings) load_mat(w.output, n.output, keep_quantised);
  n.rope_freqs = w.rope_freqs;
  for (int l = 0; l < c.n_layer; ++l) {
    const model::LayerWeights& W = w.layers[size_t(l)];
    Layer<T>& L = n.layers[size_t(l)];
    load_vec(W.attn_norm, L.attn_norm);
    load_vec(W.ffn_norm, L.ffn_norm);
    const kernels::MatView* mats[kNumTargets] = {&W.wq, &W.wk, &W.wv, &W.wo, &W.w_gate, &W.w_up, &W.w_down};
    for (int t = 0; t < kNumTargets; ++t) load_mat(*mats[t], L.w[size_t(t)], keep_quantised);
    if (c.qkv_bias) load_vec(W.bq, L.bq), load_vec(W.bk, L.bk), load_vec(W.bv, L.bv);
    if (c.qk_norm) load_vec(W.q_norm, L.q_norm), load_vec(W.k_norm, L.k_norm);
    if (c.post_norms) load_vec(W.post_attn_norm, L.post_attn_norm), load_vec(W.post_ffn_norm, L.post_ffn_norm);
  }
  return n;
}

template <class T>
Net<T> Net<T>::random(const model::ModelConfig& c, uint64_t seed, float stddev) {
  check_supported(c);
  Net<T> n = skeleton<T>(c);
  n.cfg_ = c;
  Rng rng(seed);
  for (Tensor<T>* t : n.tensors()) {
    const bool norm = t->name.find("norm") != std::string::npos, bias = t->name.find(".bias") != std::string::npos;
    for (T& v : t->w) v = norm ? T(1) : bias ? T(0) : T(rng.normal() * stddev);
  }
  return n;
}

template <class T>
std::vector<Tensor<T>*> Net<T>::tensors() {
  std::vector<Tensor<T>*> r{&tok_embd};
  for (Layer<T>& L : layers) {
    r.push_back(&L.attn_norm);
    for (Tensor<T>& t : L.w) r.push_back(&t);
    for (Tensor<T>* b : {&L.bq, &L.bk, &L.bv, &L.q_norm, &L.k_norm, &L.post_attn_norm, &L.post_ffn_norm})
      if (!b->empty()) r.push_back(b);
    r.push_back(&L.ffn_norm);
  }
  r.push_back(&output_norm);
  if (!output.empty()) r.push_back(&output);
  for (Layer<T>& L : layers)
    for (Lora<T>& a : L.lora)
      if (!a.a.empty()) r.push_back(&a.a), r.push_back(&a.b);
  return r;
}

template <class T>
std::vector<Tensor<T>*> Net<T>::trainable() {
  std::vector<Tensor<T>*> r;
  for (Tensor<T>* t : tensors())
    if (t->trainable) r.push_back(t);
  return r;
}

template <class T>
void Net<T>::zero_grad() {
  for (Tensor<T>* t : tensors()) {
    if (t->trainable) t->g.assign(t->w.size(), T(0));
    else t->g.clear();
  }
}

template <class T>
void Net<T>::set_full_trainable() {
  for (Tensor<T>* t : tensors()) t->trainable = true;
  zero_grad();
}

template <class T>
void Net<T>::add_lora(const LoraConfig& lc, uint64_t seed) {
  if (lc.rank <= 0) fail("[train] LoRA rank must be positive, got {}", lc.rank);
  if (lc.dropout < 0 || lc.dropout >= 1) fail("[train] LoRA dropout must be in [0, 1), got {}", lc.dropout);
  lora_cfg_ = lc;
  for (Tensor<T>* t : tensors()) t->trainable = false;
  Rng rng(seed);
  for (Layer<T>& L : layers)
    for (int t = 0; t < kNumTargets; ++t) {
      if (!lc.targets[size_t(t)]) continue;
      const Tensor<T>& w = L.w[size_t(t)];
      Lora<T>& a = L.lora[size_t(t)];
      a.a = make<T>(w.name + ".lora_a", lc.rank, w.cols);
      a.b = make<T>(w.name + ".lora_b", w.rows, lc.rank);
      const double bound = 1.0 / std::sqrt(double(w.cols));  // PEFT: kaiming_uniform_(a=sqrt(5))
      for (T& v : a.a.w) v = T((2.0 * rng.uniform_double() - 1.0) * bound);
      a.a.trainable = a.b.trainable = true;
    }
  zero_grad();
}

template <class T>
int Net<T>::quantise_base(DType type) {
  if (!quant::can_quantize(type)) fail("[train] cannot store the base in {}", quant::type_name(type));
  const int64_t block = dtype_info(type).block_size;
  std::vector<Tensor<T>*> mats{&tok_embd};
  if (!output.empty()) mats.push_back(&output);
  for (Layer<T>& L : layers)
    for (Tensor<T>& t : L.w) mats.push_back(&t);
  int done = 0;
  for (Tensor<T>* t : mats) {
    if (t->trainable || t->quantised() || t->cols % block != 0) continue;
    const std::vector<float> f(t->w.begin(), t->w.end());
    t->q.resize(row_bytes(type, t->cols) * size_t(t->rows));
    quant::quantize(type, f.data(), t->q.data(), t->rows, t->cols);
    t->qtype = type;
    std::vector<T>().swap(t->w);
    ++done;
  }
  return done;
}

template <class T>
size_t Net<T>::weight_bytes() {
  size_t b = 0;
  for (Tensor<T>* t : tensors()) b += t->bytes();
  return b;
}

template class Net<float>;
template class Net<double>;

}  // namespace slm::train
