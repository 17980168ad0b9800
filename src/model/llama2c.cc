// llama2.c checkpoints: header parsing and weight views (run.c / export.py layouts).
#include "model/llama2c.h"

#include <cstring>

#include "core/error.h"

namespace slm::model {
namespace {

constexpr uint32_t kMagic = 0x616b3432;  // "24ka" little-endian, written by export.py

int32_t read_i32(const MappedFile& f, size_t off) {
  int32_t v;
  std::memcpy(&v, f.data() + off, 4);
  return v;
}

// Hands out consecutive float32 tensors from the data section, checking the file is long enough.
class Cursor {
 public:
  Cursor(const MappedFile& f, size_t off) : f_(f), off_(off) {}
  MatView mat(int64_t rows, int64_t cols) {
    const size_t left = f_.size() > off_ ? f_.size() - off_ : 0;
    const bool fits = rows >= 0 && cols >= 0 && (rows == 0 || size_t(cols) <= left / 4 / size_t(rows));
    const size_t bytes = fits ? size_t(rows) * size_t(cols) * 4 : 0;
    if (!fits)
      fail("[model] {}: llama2.c checkpoint truncated: a {} x {} float32 tensor at offset {} is past the end "
           "({} bytes)", f_.path(), rows, cols, off_, f_.size());
    MatView m{DType::F32, f_.data() + off_, rows, cols, size_t(cols) * 4};
    off_ += bytes;
    return m;
  }
  std::vector<float> vec(int64_t n) {
    const MatView m = mat(1, n);
    const float* p = reinterpret_cast<const float*>(m.data);
    return std::vector<float>(p, p + n);
  }
  void skip(int64_t n_floats) { (void)mat(1, n_floats); }

 private:
  const MappedFile& f_;
  size_t off_;
};

}  // namespace

bool is_llama2c_magic(const MappedFile& f) {
  if (f.size() < 4) return false;
  uint32_t m;
  std::memcpy(&m, f.data(), 4);
  return m == kMagic;
}

void load_llama2c(const MappedFile& f, ModelConfig& cfg, Weights& w) {
  const bool v1 = is_llama2c_magic(f);
  const size_t hdr = v1 ? 256 : 28;
  if (f.size() < hdr) fail("[model] {}: too short for a llama2.c header ({} bytes)", f.path(), f.size());
  if (v1 && read_i32(f, 4) != 1)
    fail("[model] {}: llama2.c checkpoint version {} is not supported (only 0 and 1)", f.path(),
         read_i32(f, 4));
  const size_t p = v1 ? 8 : 0;
  const int32_t dim = read_i32(f, p), hidden = read_i32(f, p + 4), n_layers = read_i32(f, p + 8),
                n_heads = read_i32(f, p + 12), n_kv = read_i32(f, p + 16), vocab = read_i32(f, p + 20),
                seq_len = read_i32(f, p + 24);
  const bool shared = v1 ? f.data()[36] != 0 : vocab > 0;
  cfg = ModelConfig{};
  cfg.arch = "llama";
  cfg.dim = dim, cfg.ffn_dim = hidden, cfg.n_layer = n_layers, cfg.n_head = n_heads, cfg.n_head_kv = n_kv;
  cfg.n_vocab = vocab < 0 ? -vocab : vocab;
  cfg.n_ctx = seq_len;
  cfg.head_dim = n_heads > 0 ? dim / n_heads : 0;
  cfg.rope_dim = cfg.head_dim;
  cfg.tied_embeddings = shared;
  cfg.validate();
  if (cfg.head_dim * n_heads != dim) fail("[model] {}: dim {} not divisible by n_heads {}", f.path(), dim, n_heads);
  const int64_t D = dim, H = hidden, L = n_layers, V = cfg.n_vocab, KV = cfg.kv_dim(), hs = cfg.head_dim;
  // Check the size before allocating anything per layer (128-bit: header values may be absurd).
  using u128 = unsigned __int128;
  const u128 per_layer = u128(2 * D) + u128(2 * D) * u128(D) + u128(2 * KV) * u128(D) + u128(3 * H) * u128(D);
  const u128 floats = u128(V) * u128(D) * (shared ? 1 : 2) + u128(L) * per_layer + u128(D) +
                      (v1 ? 0 : u128(seq_len) * u128(hs));
  if (u128(hdr) + floats * 4 > u128(f.size()))
    fail("[model] {}: llama2.c checkpoint truncated: the header (dim {}, hidden {}, layers {}, vocab {}) needs "
         "more than its {} bytes", f.path(), dim, hidden, n_layers, cfg.n_vocab, f.size());
  Cursor c(f, hdr);
  w.layers.assign(size_t(L), LayerWeights{});
  auto per_layer_vec = [&](std::vector<float> LayerWeights::*field) {
    for (auto& lw : w.layers) lw.*field = c.vec(D);
  };
  auto per_layer_mat = [&](MatView LayerWeights::*field, int64_t rows, int64_t cols) {
    for (auto& lw : w.layers) lw.*field = c.mat(rows, cols);
  };
  if (v1) {  // norms first, then the embedding, then matrices
    per_layer_vec(&LayerWeights::attn_norm);
    per_layer_vec(&LayerWeights::ffn_norm);
    w.output_norm = c.vec(D);
    w.tok_embd = c.mat(V, D);
  } else {
    w.tok_embd = c.mat(V, D);
    per_layer_vec(&LayerWeights::attn_norm);
  }
  per_layer_mat(&LayerWeights::wq, D, D);
  per_layer_mat(&LayerWeights::wk, KV, D);
  per_layer_mat(&LayerWeights::wv, KV, D);
  per_layer_mat(&LayerWeights::wo, D, D);
  if (!v1) per_layer_vec(&LayerWeights::ffn_norm);
  per_layer_mat(&LayerWeights::w_gate, H, D);  // w1
  per_layer_mat(&LayerWeights::w_down, D, H);  // w2
  per_layer_mat(&LayerWeights::w_up, H, D);    // w3
  if (!v1) {
    w.output_norm = c.vec(D);
    c.skip(int64_t(seq_len) * hs);  // freq_cis_real and freq_cis_imag: (seq_len, head_size / 2) each
  }
  w.output = shared ? w.tok_embd : c.mat(V, D);
}

}  // namespace slm::model
