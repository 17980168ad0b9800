// Tiny random GGUF models for unit tests.
#include "model/tiny_model.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/rng.h"
#include "quant/quant.h"

namespace slm::testing {
namespace {

struct Builder {
  const TinySpec& s;
  Rng rng;
  gguf::Writer w;
  std::vector<std::vector<uint8_t>> store;  // tensor bytes kept alive until write()

  static constexpr uint64_t kPoolRows = 24;
  std::map<std::pair<int64_t, float>, std::vector<uint8_t>> pools;

  const std::vector<uint8_t>& pool(DType t, int64_t cols, float scale) {
    std::vector<uint8_t>& p = pools[{cols, scale}];
    if (p.empty()) {
      const std::vector<float> v = rng.normal(size_t(cols) * kPoolRows, scale);
      p.resize(row_bytes(t, cols) * kPoolRows);
      quant::quantize(t, v.data(), p.data(), int64_t(kPoolRows), cols);
    }
    return p;
  }
  bool dropped(const std::string& n) const {
    return std::find(s.drop_tensors.begin(), s.drop_tensors.end(), n) != s.drop_tensors.end();
  }
  void kv(const std::string& key, gguf::ValueData v) {
    if (std::find(s.drop_keys.begin(), s.drop_keys.end(), key) != s.drop_keys.end()) return;
    w.add_kv(key, gguf::Value{std::move(v)});
  }
  void tensor(const std::string& name, DType t, int64_t cols, int64_t rows, float scale, float offset = 0) {
    if (dropped(name)) return;
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> bytes(rb * size_t(rows));
    if (dtype_info(t).block_size == 1) {
      std::vector<float> v = rng.normal(size_t(cols * rows), scale);
      for (float& x : v) x += offset;
      quant::quantize(t, v.data(), bytes.data(), rows, cols);
    } else {  // block types: rows drawn from a small quantised pool (the searching quantisers are slow)
      const std::vector<uint8_t>& p = pool(t, cols, scale);
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(p.begin() + long(rng.below(kPoolRows) * rb), rb, bytes.begin() + long(size_t(r) * rb));
    }
    store.push_back(std::move(bytes));
    std::vector<int64_t> ne = rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
    w.add_tensor(name, t, ne, store.back());
  }
  void mat(const std::string& name, int64_t cols, int64_t rows) {
    tensor(name, s.type, cols, rows, 1.5f / std::sqrt(float(cols)));
  }
  void norm(const std::string& name, int64_t n) { tensor(name, DType::F32, n, 1, 0.2f, 1.0f); }
};

std::string blk(int l, const std::string& s) { return "blk." + std::to_string(l) + "." + s; }

}  // namespace

void write_tiny_model(const TinySpec& s, const std::string& path) {
  Builder b{s, Rng(s.seed), gguf::Writer(), {}, {}};
  b.store.reserve(1024);
  const std::string& a = s.arch;
  b.kv("general.architecture", std::string(a));
  b.kv(a + ".context_length", uint32_t(s.ctx));
  b.kv(a + ".embedding_length", uint32_t(s.dim));
  b.kv(a + ".block_count", uint32_t(s.n_layer));
  b.kv(a + ".feed_forward_length", uint32_t(s.ffn));
  b.kv(a + ".attention.head_count", uint32_t(s.n_head));
  b.kv(a + ".attention.head_count_kv", uint32_t(s.n_head_kv));
  b.kv(a + ".attention.key_length", uint32_t(s.head_dim));
  b.kv(a + ".attention.value_length", uint32_t(s.head_dim));
  b.kv(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  b.kv(a + ".rope.freq_base", 10000.0f);
  if (s.sliding_window > 0) b.kv(a + ".attention.sliding_window", uint32_t(s.sliding_window));
  if (a == "gemma2") {
    b.kv("gemma2.attn_logit_softcapping", 5.0f);
    b.kv("gemma2.final_logit_softcapping", 20.0f);
  }
  const int qd = s.n_head * s.head_dim, kvd = s.n_head_kv * s.head_dim;
  b.tensor("token_embd.weight", s.type, s.dim, s.vocab, a == "gemma2" ? 0.2f : 1.0f);
  if (s.rope_freqs) b.tensor("rope_freqs.weight", DType::F32, s.head_dim / 2, 1, 0.5f, 2.0f);
  b.norm("output_norm.weight", s.dim);
  if (!s.tied) b.mat("output.weight", s.dim, s.vocab);
  for (int l = 0; l < s.n_layer; ++l) {
    b.norm(blk(l, "attn_norm.weight"), s.dim);
    if (a == "phi3") {
      b.mat(blk(l, "attn_qkv.weight"), s.dim, qd + 2 * kvd);
    } else {
      b.mat(blk(l, "attn_q.weight"), s.dim, qd);
      b.mat(blk(l, "attn_k.weight"), s.dim, kvd);
      b.mat(blk(l, "attn_v.weight"), s.dim, kvd);
    }
    if (a == "qwen2") {
      b.tensor(blk(l, "attn_q.bias"), DType::F32, qd, 1, 0.5f);
      b.tensor(blk(l, "attn_k.bias"), DType::F32, kvd, 1, 0.5f);
      b.tensor(blk(l, "attn_v.bias"), DType::F32, kvd, 1, 0.5f);
    }
    if (a == "qwen3") {
      b.norm(blk(l, "attn_q_norm.weight"), s.head_dim);
      b.norm(blk(l, "attn_k_norm.weight"), s.head_dim);
    }
    b.mat(blk(l, "attn_output.weight"), qd, s.dim);
    if (a == "gemma2") b.norm(blk(l, "post_attention_norm.weight"), s.dim);
    b.norm(blk(l, "ffn_norm.weight"), s.dim);
    if (a == "phi3") {
      b.mat(blk(l, "ffn_up.weight"), s.dim, 2 * s.ffn);
    } else {
      b.mat(blk(l, "ffn_gate.weight"), s.dim, s.ffn);
      b.mat(blk(l, "ffn_up.weight"), s.dim, s.ffn);
    }
    b.mat(blk(l, "ffn_down.weight"), s.ffn, s.dim);
    if (a == "gemma2") b.norm(blk(l, "post_ffw_norm.weight"), s.dim);
  }
  if (s.edit) s.edit(b.w);
  b.w.write(path);
}

}  // namespace slm::testing
