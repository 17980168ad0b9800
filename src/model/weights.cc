// TensorBinder: GGUF tensors by name, shape-checked, as views into the mapping; the llama-like layout.
#include "model/weights.h"

#include <fmt/ranges.h>

#include "core/error.h"
#include "io/gguf.h"
#include "quant/quant.h"

namespace slm::model {
namespace {

bool readable(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || quant::can_dequantize(t);
}

const gguf::TensorInfo& need(const gguf::File& f, const std::string& name) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (!t) fail("[model] tensor '{}' missing", name);
  if (!readable(t->type))
    fail("[model] tensor '{}': type {} is not supported", name, dtype_info(t->type).name);
  return *t;
}

void expect_shape(const gguf::TensorInfo& t, std::vector<int64_t> want) {
  std::vector<int64_t> got = t.ne;
  while (got.size() > want.size() && got.back() == 1) got.pop_back();
  if (got != want) fail("[model] tensor '{}': expected shape [{}], got [{}]", t.name, fmt::join(want, ", "),
                        fmt::join(t.ne, ", "));
}

}  // namespace

std::string layer_tensor(int layer, const char* suffix) { return fmt::format("blk.{}.{}", layer, suffix); }

bool TensorBinder::has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }

int64_t TensorBinder::rows_of(const std::string& name, int64_t cols) const {
  const gguf::TensorInfo& t = need(f_, name);
  if (t.ne.size() < 2) fail("[model] tensor '{}': expected 2 dims, got {}", name, t.ne.size());
  expect_shape(t, {cols, t.ne[1]});
  return t.ne[1];
}

MatView TensorBinder::mat(const std::string& name, int64_t rows, int64_t cols) const {
  const gguf::TensorInfo& t = need(f_, name);
  expect_shape(t, {cols, rows});
  const DTypeInfo& d = dtype_info(t.type);
  if (cols % d.block_size != 0)
    fail("[model] tensor '{}': row length {} is not a multiple of the {} block size {}", name, cols, d.name,
         d.block_size);
  const std::span<const uint8_t> bytes = f_.tensor_data(t);
  const size_t rb = row_bytes(t.type, cols);
  if (bytes.size() < rb * size_t(rows))
    fail("[model] tensor '{}': {} bytes of data, expected {}", name, bytes.size(), rb * size_t(rows));
  return MatView{t.type, bytes.data(), rows, cols, rb};
}

std::vector<float> TensorBinder::vec(const std::string& name, int64_t n) const {
  const gguf::TensorInfo& t = need(f_, name);
  expect_shape(t, {n});
  const std::span<const uint8_t> bytes = f_.tensor_data(t);
  if (n % dtype_info(t.type).block_size != 0 || bytes.size() < row_bytes(t.type, n))
    fail("[model] tensor '{}': {} bytes of {} data do not hold {} values", name, bytes.size(),
         dtype_info(t.type).name, n);
  const MatView m{t.type, bytes.data(), 1, n, row_bytes(t.type, n)};
  std::vector<float> out(static_cast<size_t>(n));
  kernels::cpu_kernels().row_to_f32(m, 0, out);
  return out;
}

void bind_llama_like(const TensorBinder& b, ModelConfig& cfg, Weights& w, bool fused_qkv,
                     bool fused_gate_up) {
  const int64_t vocab = b.rows_of("token_embd.weight", cfg.dim);
  if (cfg.n_vocab != 0 && cfg.n_vocab != vocab)
    fail("[model] {}.vocab_size = {} but token_embd.weight has {} rows", cfg.arch, cfg.n_vocab, vocab);
  cfg.n_vocab = int(vocab);
  w.tok_embd = b.mat("token_embd.weight", vocab, cfg.dim);
  w.output_norm = b.vec("output_norm.weight", cfg.dim);
  cfg.tied_embeddings = !b.has("output.weight");
  w.output = cfg.tied_embeddings ? w.tok_embd : b.mat("output.weight", vocab, cfg.dim);
  const int64_t dim = cfg.dim, qd = cfg.q_dim(), kvd = cfg.kv_dim(), ffn = cfg.ffn_dim;
  w.layers.resize(size_t(cfg.n_layer));
  for (int l = 0; l < cfg.n_layer; ++l) {
    LayerWeights& L = w.layers[size_t(l)];
    L.attn_norm = b.vec(layer_tensor(l, "attn_norm.weight"), dim);
    L.ffn_norm = b.vec(layer_tensor(l, "ffn_norm.weight"), dim);
    if (fused_qkv) {  // rows [q; k; v]: contiguous row ranges of one matrix
      const MatView qkv = b.mat(layer_tensor(l, "attn_qkv.weight"), qd + 2 * kvd, dim);
      L.wq = qkv.slice_rows(0, qd);
      L.wk = qkv.slice_rows(qd, kvd);
      L.wv = qkv.slice_rows(qd + kvd, kvd);
    } else {
      L.wq = b.mat(layer_tensor(l, "attn_q.weight"), qd, dim);
      L.wk = b.mat(layer_tensor(l, "attn_k.weight"), kvd, dim);
      L.wv = b.mat(layer_tensor(l, "attn_v.weight"), kvd, dim);
    }
    L.wo = b.mat(layer_tensor(l, "attn_output.weight"), dim, qd);
    if (fused_gate_up) {  // rows [gate; up]
      const MatView gu = b.mat(layer_tensor(l, "ffn_up.weight"), 2 * ffn, dim);
      L.w_gate = gu.slice_rows(0, ffn);
      L.w_up = gu.slice_rows(ffn, ffn);
    } else {
      L.w_gate = b.mat(layer_tensor(l, "ffn_gate.weight"), ffn, dim);
      L.w_up = b.mat(layer_tensor(l, "ffn_up.weight"), ffn, dim);
    }
    L.w_down = b.mat(layer_tensor(l, "ffn_down.weight"), dim, ffn);
  }
}

}  // namespace slm::model
