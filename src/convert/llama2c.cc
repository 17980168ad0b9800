// llama2.c checkpoints (.bin v0 / v1) and tokenizer.bin -> GGUF "llama". The checkpoint's q/k rows are
// already in the interleaved-pair rope order GGUF uses, so tensors are copied as they are.
#include <cstring>
#include <deque>
#include <filesystem>

#include "convert/convert.h"
#include "convert/tensor_ops.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/mmap.h"

namespace slm::convert {
namespace {

constexpr uint32_t kMagic = 0x616b3432;  // bytes "24ka": export.py version >= 1

struct Header {
  int32_t dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len;
  bool shared;
  size_t size;  // header bytes
  bool v1;
};

int32_t i32_at(const MappedFile& f, size_t off) {
  int32_t v;
  std::memcpy(&v, f.data() + off, 4);
  return v;
}

Header read_header(const MappedFile& f) {
  Header h{};
  if (f.size() < 28) fail("[convert] {}: {} bytes is too short for a llama2.c header", f.path(), f.size());
  uint32_t magic;
  std::memcpy(&magic, f.data(), 4);
  h.v1 = magic == kMagic;
  if (h.v1) {
    if (f.size() < 256) fail("[convert] {}: truncated llama2.c v1 header", f.path());
    if (i32_at(f, 4) != 1) fail("[convert] {}: llama2.c checkpoint version {} is not supported (0 and 1 are)", f.path(), i32_at(f, 4));
  }
  const size_t p = h.v1 ? 8 : 0;
  h.dim = i32_at(f, p), h.hidden = i32_at(f, p + 4), h.n_layers = i32_at(f, p + 8), h.n_heads = i32_at(f, p + 12);
  h.n_kv = i32_at(f, p + 16), h.vocab = i32_at(f, p + 20), h.seq_len = i32_at(f, p + 24);
  h.shared = h.v1 ? f.data()[36] != 0 : h.vocab > 0;
  if (h.vocab < 0) h.vocab = -h.vocab;
  h.size = h.v1 ? 256 : 28;
  if (h.dim <= 0 || h.hidden <= 0 || h.n_layers <= 0 || h.n_heads <= 0 || h.n_kv <= 0 || h.vocab <= 0 || h.seq_len <= 0 ||
      h.dim % h.n_heads != 0 || h.n_heads % h.n_kv != 0 || h.dim > (1 << 16) || h.hidden > (1 << 18) ||
      h.n_layers > 1024 || h.vocab > (1 << 22) || h.seq_len > (1 << 24))
    fail("[convert] {}: implausible llama2.c header (dim {}, hidden {}, layers {}, heads {}/{}, vocab {}, seq_len {})", f.path(),
         h.dim, h.hidden, h.n_layers, h.n_heads, h.n_kv, h.vocab, h.seq_len);
  return h;
}

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
};

// tokenizer.bin: int32 max_token_length, then per token {float32 score, int32 length, bytes}. Pieces use
// ' ' where SentencePiece (and GGUF) use U+2581; the special pieces are written as "\n<s>\n".
Vocab read_tokenizer_bin(const std::string& path, int32_t n_vocab) {
  const MappedFile f(path);
  size_t off = 4;
  if (f.size() < 4) fail("[convert] {}: too short for a llama2.c tokenizer", path);
  Vocab v;
  for (int32_t i = 0; i < n_vocab; ++i) {
    if (off + 8 > f.size()) fail("[convert] {}: token {} of {} runs past the end of the file", path, i, n_vocab);
    float score;
    std::memcpy(&score, f.data() + off, 4);
    const int32_t len = i32_at(f, off + 4);
    off += 8;
    if (len < 0 || size_t(len) > f.size() - off) fail("[convert] {}: token {} has a bad length {}", path, i, len);
    std::string piece(reinterpret_cast<const char*>(f.data() + off), size_t(len));
    off += size_t(len);
    int32_t type = 1;  // normal
    const size_t a = piece.find_first_not_of('\n'), b = piece.find_last_not_of('\n');
    const std::string trimmed = a == std::string::npos ? piece : piece.substr(a, b - a + 1);
    if (i == 0) {
      type = 2, piece = trimmed;  // unknown
    } else if (i <= 2) {
      type = 3, piece = trimmed;  // control: <s>, </s>
    } else if (piece.size() == 6 && piece.starts_with("<0x") && piece.back() == '>') {
      type = 6;  // byte
    } else {
      std::string s;
      for (char c : piece) s += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      piece = std::move(s);
    }
    v.tokens.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  return v;
}

gguf::Value str_array(const std::vector<std::string>& v) {
  gguf::Array a{gguf::ValueType::string, {}};
  for (const std::string& s : v) a.items.push_back(gguf::Value{s});
  return gguf::Value{std::move(a)};
}

}  // namespace

ConvertSummary convert_llama2c(const std::string& checkpoint, const std::string& tokenizer_bin, const std::string& out_path,
                               std::optional<DType> type) {
  const MappedFile f(checkpoint);
  const Header h = read_header(f);
  const int64_t D = h.dim, H = h.hidden, L = h.n_layers, V = h.vocab, hd = D / h.n_heads, KV = int64_t(h.n_kv) * hd;
  // Offsets of each weight block, in the file's order.
  size_t off = h.size;
  auto take = [&](int64_t n_floats) {
    const size_t at = off;
    off += size_t(n_floats) * 4;
    if (off > f.size()) fail("[convert] {}: llama2.c checkpoint truncated: needs {} bytes, has {}", checkpoint, off, f.size());
    return at;
  };
  size_t emb, att_norm, ffn_norm, out_norm, wq, wk, wv, wo, w1, w2, w3, wcls = 0;
  if (h.v1) {
    att_norm = take(L * D), ffn_norm = take(L * D), out_norm = take(D), emb = take(V * D);
    wq = take(L * D * D), wk = take(L * KV * D), wv = take(L * KV * D), wo = take(L * D * D);
    w1 = take(L * H * D), w2 = take(L * D * H), w3 = take(L * H * D);
  } else {
    emb = take(V * D), att_norm = take(L * D);
    wq = take(L * D * D), wk = take(L * KV * D), wv = take(L * KV * D), wo = take(L * D * D);
    ffn_norm = take(L * D), w1 = take(L * H * D), w2 = take(L * D * H), w3 = take(L * H * D), out_norm = take(D);
    take(int64_t(h.seq_len) * hd);  // freq_cis_real and freq_cis_imag, (seq_len, head_size / 2) each
  }
  if (!h.shared) wcls = take(V * D);

  const Vocab vocab = read_tokenizer_bin(tokenizer_bin, h.vocab);
  gguf::Writer w;
  auto u32 = [](int64_t v) { return gguf::Value{uint32_t(v)}; };
  w.add_kv("general.architecture", gguf::Value{std::string("llama")});
  w.add_kv("general.name", gguf::Value{std::filesystem::path(checkpoint).stem().string()});
  w.add_kv("llama.context_length", u32(h.seq_len));
  w.add_kv("llama.embedding_length", u32(D));
  w.add_kv("llama.feed_forward_length", u32(H));
  w.add_kv("llama.attention.head_count", u32(h.n_heads));
  w.add_kv("llama.attention.head_count_kv", u32(h.n_kv));
  w.add_kv("llama.block_count", u32(L));
  w.add_kv("llama.rope.dimension_count", u32(hd));
  w.add_kv("llama.attention.layer_norm_rms_epsilon", gguf::Value{1e-5f});
  w.add_kv("general.file_type", gguf::Value{file_type_of(type.value_or(DType::F32))});
  w.add_kv("tokenizer.ggml.model", gguf::Value{std::string("llama")});
  w.add_kv("tokenizer.ggml.tokens", str_array(vocab.tokens));
  gguf::Array sc{gguf::ValueType::f32, {}}, ty{gguf::ValueType::i32, {}};
  for (float s : vocab.scores) sc.items.push_back(gguf::Value{s});
  for (int32_t t : vocab.types) ty.items.push_back(gguf::Value{t});
  w.add_kv("tokenizer.ggml.scores", gguf::Value{std::move(sc)});
  w.add_kv("tokenizer.ggml.token_type", gguf::Value{std::move(ty)});
  w.add_kv("tokenizer.ggml.unknown_token_id", u32(0));
  w.add_kv("tokenizer.ggml.bos_token_id", u32(1));
  w.add_kv("tokenizer.ggml.eos_token_id", u32(2));

  std::deque<std::vector<uint8_t>> buffers;
  size_t n_tensors = 0;
  // rows x cols float32 matrix at byte offset `at` -> GGUF ne = {cols, rows}.
  auto add = [&](const std::string& name, size_t at, int64_t rows, int64_t cols) {
    const std::span<const uint8_t> src(f.data() + at, size_t(rows * cols) * 4);
    const std::vector<int64_t> ne = rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
    const DType t = output_type(name, ne.size(), cols, DType::F32, type);
    if (t == DType::F32) {
      w.add_tensor(name, t, ne, src);
    } else {
      std::vector<float> x(size_t(rows * cols));
      std::memcpy(x.data(), src.data(), src.size());
      buffers.push_back(from_f32(t, x, rows, cols));
      w.add_tensor(name, t, ne, buffers.back());
    }
    ++n_tensors;
  };
  add("token_embd.weight", emb, V, D);
  add("output_norm.weight", out_norm, 1, D);
  if (!h.shared) add("output.weight", wcls, V, D);
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_q.weight", wq + size_t(l * D * D) * 4, D, D);
    add(p + "attn_k.weight", wk + size_t(l * KV * D) * 4, KV, D);
    add(p + "attn_v.weight", wv + size_t(l * KV * D) * 4, KV, D);
    add(p + "attn_output.weight", wo + size_t(l * D * D) * 4, D, D);
    add(p + "attn_norm.weight", att_norm + size_t(l * D) * 4, 1, D);
    add(p + "ffn_gate.weight", w1 + size_t(l * H * D) * 4, H, D);
    add(p + "ffn_down.weight", w2 + size_t(l * D * H) * 4, D, H);
    add(p + "ffn_up.weight", w3 + size_t(l * H * D) * 4, H, D);
    add(p + "ffn_norm.weight", ffn_norm + size_t(l * D) * 4, 1, D);
  }
  w.write(out_path);
  return ConvertSummary{.arch = "llama", .n_tensors = n_tensors, .n_metadata = 18,
                        .bytes = uint64_t(std::filesystem::file_size(out_path))};
}

}  // namespace slm::convert
