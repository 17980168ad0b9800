// A tiny random llama-architecture GGUF for generation tests (written with gguf::Writer, F32 weights).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "io/gguf.h"

namespace slm::testing {

struct TinyModelSpec {
  int64_t dim = 32, n_layer = 2, n_head = 4, n_head_kv = 2, ffn = 64, vocab = 64, ctx = 64;
  uint64_t seed = 11;
  float gain = 3.0f;  // larger weights make peaked next-token distributions (clear greedy margins)
  // Optional vocabulary (tokenizer.ggml.*, "llama" model) and chat template; empty = none.
  std::vector<std::string> tokens;
  std::string chat_template;
};

// Writes the model to `path`.
inline void write_tiny_model(const TinyModelSpec& s, const std::string& path) {
  gguf::Writer w;
  auto u32 = [](int64_t v) { return gguf::Value{uint32_t(v)}; };
  w.add_kv("general.architecture", gguf::Value{std::string("llama")});
  w.add_kv("llama.context_length", u32(s.ctx));
  w.add_kv("llama.embedding_length", u32(s.dim));
  w.add_kv("llama.block_count", u32(s.n_layer));
  w.add_kv("llama.feed_forward_length", u32(s.ffn));
  w.add_kv("llama.attention.head_count", u32(s.n_head));
  w.add_kv("llama.attention.head_count_kv", u32(s.n_head_kv));
  w.add_kv("llama.attention.layer_norm_rms_epsilon", gguf::Value{1e-5f});
  w.add_kv("llama.rope.freq_base", gguf::Value{10000.0f});
  if (!s.tokens.empty()) {
    gguf::Array toks{gguf::ValueType::string, {}}, scores{gguf::ValueType::f32, {}},
        types{gguf::ValueType::i32, {}};
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      toks.items.push_back(gguf::Value{s.tokens[i]});
      scores.items.push_back(gguf::Value{-float(i)});
      types.items.push_back(gguf::Value{int32_t(i < 3 ? 3 : 1)});  // 0..2 control, the rest normal
    }
    w.add_kv("tokenizer.ggml.model", gguf::Value{std::string("llama")});
    w.add_kv("tokenizer.ggml.tokens", gguf::Value{toks});
    w.add_kv("tokenizer.ggml.scores", gguf::Value{scores});
    w.add_kv("tokenizer.ggml.token_type", gguf::Value{types});
    w.add_kv("tokenizer.ggml.unknown_token_id", u32(0));
    w.add_kv("tokenizer.ggml.bos_token_id", u32(1));
    w.add_kv("tokenizer.ggml.eos_token_id", u32(2));
  }
  if (!s.chat_template.empty()) w.add_kv("tokenizer.chat_template", gguf::Value{s.chat_template});

  Rng rng(s.seed);
  std::vector<std::vector<float>> store;  // the writer keeps spans until write()
  auto add = [&](const std::string& name, std::vector<int64_t> ne, float scale, float offset = 0.0f) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    std::vector<float>& v = store.emplace_back(rng.normal(size_t(n), scale));
    for (float& x : v) x += offset;
    w.add_tensor(name, DType::F32, std::move(ne),
                 std::span(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)));
  };
  const int64_t hd = s.dim / s.n_head, qd = s.n_head * hd, kvd = s.n_head_kv * hd;
  const float g = s.gain;
  store.reserve(size_t(3 + 9 * s.n_layer));
  add("token_embd.weight", {s.dim, s.vocab}, 1.0f);
  add("output_norm.weight", {s.dim}, 0.1f, 1.0f);
  add("output.weight", {s.dim, s.vocab}, g / std::sqrt(float(s.dim)));
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {s.dim}, 0.1f, 1.0f);
    add(p + "attn_q.weight", {s.dim, qd}, 1.0f / std::sqrt(float(s.dim)));
    add(p + "attn_k.weight", {s.dim, kvd}, 1.0f / std::sqrt(float(s.dim)));
    add(p + "attn_v.weight", {s.dim, kvd}, 1.0f / std::sqrt(float(s.dim)));
    add(p + "attn_output.weight", {qd, s.dim}, 1.0f / std::sqrt(float(qd)));
    add(p + "ffn_norm.weight", {s.dim}, 0.1f, 1.0f);
    add(p + "ffn_gate.weight", {s.dim, s.ffn}, 1.0f / std::sqrt(float(s.dim)));
    add(p + "ffn_up.weight", {s.dim, s.ffn}, 1.0f / std::sqrt(float(s.dim)));
    add(p + "ffn_down.weight", {s.ffn, s.dim}, 1.0f / std::sqrt(float(s.ffn)));
  }
  w.write(path);
}

}  // namespace slm::testing
