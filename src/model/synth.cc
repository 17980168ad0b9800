// Random-weight GGUF models: N(0, stddev^2) matrices, unit norms, tied embeddings, real shapes.
#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "core/error.h"
#include "core/f16.h"
#include "core/rng.h"
#include "quant/quant.h"

namespace slm {
namespace {

using gguf::Value;

const std::vector<SynthShape>& shapes() {
  static const std::vector<SynthShape> kShapes = {
      // PERF.md's benchmark shapes.
      {"smollm2-135m", "llama", 576, 30, 9, 3, 1536, 49152, 1e5, 1e-5f, false, false, 8192},
      {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 1e6, 1e-6f, true, false, 32768},
      {"llama3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 5e5, 1e-5f, false, true, 131072},
      // Small shapes for tests and the demo.
      {"tiny", "llama", 64, 2, 4, 2, 160, 512, 1e4, 1e-5f, false, false, 512},
      {"tiny-qwen2", "qwen2", 64, 2, 4, 2, 160, 512, 1e6, 1e-6f, true, false, 512},
      // Rows of 256 and 512: every block size fits, k-quants included.
      {"demo", "llama", 256, 4, 4, 2, 512, 512, 1e4, 1e-5f, false, false, 512},
  };
  return kShapes;
}

// Llama 3.x rope scaling as per-dimension frequency divisors (rope_freqs.weight): factor 32, low 1, high 4,
// original context 8192 (the published Llama 3.2 values).
std::vector<float> llama3_rope_freqs(int64_t head_dim, double theta) {
  const double factor = 32, low = 1, high = 4, orig = 8192;
  const double low_wavelen = orig / low, high_wavelen = orig / high;
  std::vector<float> out(size_t(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(theta, double(2 * i) / double(head_dim));
    const double wavelen = 2 * M_PI / freq;
    double div = 1;
    if (wavelen > low_wavelen) {
      div = factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (orig / wavelen - low) / (high - low);
      div = 1.0 / ((1 - smooth) / factor + smooth);
    }
    out[size_t(i)] = float(div);
  }
  return out;
}

gguf::Array string_array(std::vector<std::string> items) {
  gguf::Array a{gguf::ValueType::string, {}};
  a.items.reserve(items.size());
  for (std::string& s : items) a.items.push_back(Value{std::move(s)});
  return a;
}

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then filler pieces.
void add_made_up_vocab(gguf::Writer& w, int64_t n_vocab) {
  SLM_CHECK(n_vocab >= 259 + 1, "vocab too small: {}", n_vocab);
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  gguf::Array scores{gguf::ValueType::f32, {}}, types{gguf::ValueType::i32, {}};
  for (int b = 0; b < 256; ++b) tokens.push_back(fmt::format("<0x{:02X}>", b));
  for (int64_t i = int64_t(tokens.size()); i < n_vocab; ++i) tokens.push_back(fmt::format("\u2581t{}", i));
  for (int64_t i = 0; i < n_vocab; ++i) {
    scores.items.push_back(Value{i < 259 ? 0.0f : -float(i)});
    types.items.push_back(Value{int32_t(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)});
  }
  w.add_kv("tokenizer.ggml.model", Value{std::string("llama")});
  w.add_kv("tokenizer.ggml.tokens", Value{string_array(std::move(tokens))});
  w.add_kv("tokenizer.ggml.scores", Value{std::move(scores)});
  w.add_kv("tokenizer.ggml.token_type", Value{std::move(types)});
  w.add_kv("tokenizer.ggml.bos_token_id", Value{uint32_t(1)});
  w.add_kv("tokenizer.ggml.eos_token_id", Value{uint32_t(2)});
  w.add_kv("tokenizer.ggml.unknown_token_id", Value{uint32_t(0)});
}

int64_t copy_vocab(gguf::Writer& w, const gguf::File& vocab) {
  const gguf::Array* tokens = vocab.get_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->items.empty()) fail("[synth] vocabulary file has no tokenizer.ggml.tokens");
  for (const gguf::KeyValue& kv : vocab.metadata())
    if (kv.key.starts_with("tokenizer.")) w.add_kv(kv.key, kv.value);
  return int64_t(tokens->items.size());
}

// general.file_type as llama.cpp numbers its "mostly <type>" file types (the pure, single-type variants).
uint32_t file_type_of(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 12;
    case DType::Q4_K: return 15;
    case DType::Q5_K: return 17;
    case DType::Q6_K: return 18;
    case DType::IQ4_NL: return 25;
    case DType::IQ4_XS: return 30;
    case DType::BF16: return 32;
    default: fail("[synth] no GGUF file type for {}", dtype_info(t).name);
  }
}

struct TensorStore {
  std::vector<std::vector<uint8_t>> buffers;  // keeps data alive until the write
};

}  // namespace

std::optional<SynthShape> synth_shape(std::string_view name) {
  for (const SynthShape& s : shapes())
    if (s.name == name) return s;
  return std::nullopt;
}

std::vector<std::string> synth_shape_names() {
  std::vector<std::string> out;
  for (const SynthShape& s : shapes()) out.push_back(s.name);
  return out;
}

void write_synth_model(const SynthShape& shape, const SynthOptions& opt, const std::string& path) {
  const DType wtype = opt.type;
  if (wtype != DType::F32 && !quant::can_quantize(wtype))
    fail("[synth] cannot write weights of type {}", dtype_info(wtype).name);
  if (shape.hidden % shape.heads != 0 || shape.heads % shape.kv_heads != 0)
    fail("[synth] shape '{}': heads must divide hidden and kv heads must divide heads", shape.name);
  const int64_t block = dtype_info(wtype).block_size;
  if (shape.hidden % block != 0 || shape.ffn % block != 0)
    fail("[synth] shape '{}': rows of {} / {} are not a multiple of the {} block size {}", shape.name,
         shape.hidden, shape.ffn, dtype_info(wtype).name, block);

  gguf::Writer w;
  const std::string& a = shape.arch;
  const int64_t head_dim = shape.hidden / shape.heads;
  int64_t n_vocab = shape.vocab;
  w.add_kv("general.architecture", Value{a});
  w.add_kv("general.name", Value{fmt::format("synthetic {}", shape.name)});
  w.add_kv("general.file_type", Value{file_type_of(wtype)});
  w.add_kv(a + ".context_length", Value{uint32_t(shape.context)});
  w.add_kv(a + ".embedding_length", Value{uint32_t(shape.hidden)});
  w.add_kv(a + ".block_count", Value{uint32_t(shape.layers)});
  w.add_kv(a + ".feed_forward_length", Value{uint32_t(shape.ffn)});
  w.add_kv(a + ".attention.head_count", Value{uint32_t(shape.heads)});
  w.add_kv(a + ".attention.head_count_kv", Value{uint32_t(shape.kv_heads)});
  w.add_kv(a + ".rope.freq_base", Value{float(shape.rope_theta)});
  w.add_kv(a + ".rope.dimension_count", Value{uint32_t(head_dim)});
  w.add_kv(a + ".attention.layer_norm_rms_epsilon", Value{shape.norm_eps});
  if (opt.vocab) {
    n_vocab = copy_vocab(w, *opt.vocab);
  } else {
    add_made_up_vocab(w, n_vocab);
  }
  w.add_kv(a + ".vocab_size", Value{uint32_t(n_vocab)});

  TensorStore store;
  Rng rng(opt.seed);
  auto add = [&](const std::string& name, std::vector<int64_t> ne, DType type, const std::vector<float>& f) {
    std::vector<uint8_t> bytes;
    if (type == DType::F32) {
      bytes.resize(f.size() * 4);
      std::memcpy(bytes.data(), f.data(), bytes.size());
    } else {
      bytes.resize(row_bytes(type, ne[0]) * size_t(f.size() / size_t(ne[0])));
      quant::quantize(type, f.data(), bytes.data(), int64_t(f.size()) / ne[0], ne[0]);
    }
    store.buffers.push_back(std::move(bytes));
    w.add_tensor(name, type, std::move(ne), store.buffers.back());
  };
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {
    add(name, {cols, rows}, wtype, rng.normal(size_t(cols * rows), opt.stddev));
  };
  auto ones = [&](const std::string& name, int64_t n) { add(name, {n}, DType::F32, std::vector<float>(size_t(n), 1.0f)); };

  store.buffers.reserve(size_t(shape.layers) * 16 + 8);
  matrix("token_embd.weight", shape.hidden, n_vocab);
  if (shape.llama3_rope_scaling)
    add("rope_freqs.weight", {head_dim / 2}, DType::F32, llama3_rope_freqs(head_dim, shape.rope_theta));
  const int64_t q_dim = shape.heads * head_dim, kv_dim = shape.kv_heads * head_dim;
  for (int64_t l = 0; l < shape.layers; ++l) {
    const std::string p = fmt::format("blk.{}.", l);
    ones(p + "attn_norm.weight", shape.hidden);
    matrix(p + "attn_q.weight", shape.hidden, q_dim);
    matrix(p + "attn_k.weight", shape.hidden, kv_dim);
    matrix(p + "attn_v.weight", shape.hidden, kv_dim);
    if (shape.qkv_bias) {
      add(p + "attn_q.bias", {q_dim}, DType::F32, rng.normal(size_t(q_dim), opt.stddev));
      add(p + "attn_k.bias", {kv_dim}, DType::F32, rng.normal(size_t(kv_dim), opt.stddev));
      add(p + "attn_v.bias", {kv_dim}, DType::F32, rng.normal(size_t(kv_dim), opt.stddev));
    }
    matrix(p + "attn_output.weight", q_dim, shape.hidden);
    ones(p + "ffn_norm.weight", shape.hidden);
    matrix(p + "ffn_gate.weight", shape.hidden, shape.ffn);
    matrix(p + "ffn_up.weight", shape.hidden, shape.ffn);
    matrix(p + "ffn_down.weight", shape.ffn, shape.hidden);
  }
  ones("output_norm.weight", shape.hidden);
  w.write(path);
}

}  // namespace slm
