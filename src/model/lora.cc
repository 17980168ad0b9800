// Loading llama.cpp GGUF LoRA adapters into a Model and applying them at the matmul site.
#include "model/lora.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "io/gguf.h"
#include "kernels/parallel.h"
#include "model/model.h"
#include "quant/quant.h"

namespace slm::model {
namespace {

constexpr const char* kSiteNames[kLoraSites] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                                                "ffn_down"};

// Dequantises a 2-D adapter tensor to F32 rows (rows, cols) appended to `store`; returns the offset.
size_t load_f32(const gguf::File& f, const gguf::TensorInfo& t, std::vector<float>& store) {
  if (!quant::can_dequantize(t.type)) fail("[lora] {}: tensor '{}' has a type that cannot be read", f.name(), t.name);
  const size_t off = store.size();
  store.resize(off + size_t(t.n_elements()));
  quant::dequantize(t.type, f.tensor_data(t).data(), store.data() + off, t.n_elements());
  return off;
}

thread_local std::span<const int32_t> t_rows;  // see LoraRowsScope

}  // namespace

LoraRowsScope::LoraRowsScope(std::span<const int32_t> rows) : saved_(t_rows) { t_rows = rows; }
LoraRowsScope::~LoraRowsScope() { t_rows = saved_; }

void lora_apply(const kernels::CpuKernels& k, const std::vector<LoraMat>& adapters, std::span<const float> x,
                int64_t n, std::span<float> y, std::span<const int32_t> row_adapter) {
  if (adapters.empty()) return;
  if (row_adapter.empty()) row_adapter = t_rows;
  SLM_CHECK(row_adapter.empty() || row_adapter.size() == size_t(n), "{} row adapters for {} rows", row_adapter.size(), n);
  for (const LoraMat& a : adapters) {
    const size_t in = size_t(a.a.cols), out = size_t(a.b.rows);
    std::vector<int64_t> rows;  // the rows this adapter runs on, when not all
    if (!row_adapter.empty()) {
      for (int64_t r = 0; r < n; ++r) {
        if (row_adapter[size_t(r)] == a.adapter) rows.push_back(r);
      }
      if (rows.empty()) continue;
    }
    const int64_t m = row_adapter.empty() ? n : int64_t(rows.size());
    std::vector<float> xs;  // gathered rows: (m, in)
    if (!row_adapter.empty()) {
      xs.resize(size_t(m) * in);
      for (size_t i = 0; i < rows.size(); ++i)
        std::copy_n(x.begin() + ptrdiff_t(size_t(rows[i]) * in), in, xs.begin() + ptrdiff_t(i * in));
    }
    std::vector<float> t(size_t(m * a.a.rows)), u(size_t(m) * out);
    kernels::matmul_parallel(k, a.a, row_adapter.empty() ? x : std::span<const float>(xs), m, t);  // t: (m, rank)
    kernels::matmul_parallel(k, a.b, t, m, u);                                                      // u: (m, out)
    for (int64_t i = 0; i < m; ++i) {
      const size_t r = row_adapter.empty() ? size_t(i) : size_t(rows[size_t(i)]);
      for (size_t j = 0; j < out; ++j) y[r * out + j] += a.scale * u[size_t(i) * out + j];
    }
  }
}

int Model::add_lora(const std::string& path, float scale) {
  auto file = std::make_shared<gguf::File>(gguf::File::open(path));
  const gguf::File& f = *file;
  if (f.get_string("general.type").value_or("") != "adapter" || f.get_string("adapter.type").value_or("") != "lora")
    fail("[lora] {}: not a LoRA adapter (general.type=adapter, adapter.type=lora expected)", path);
  if (const auto arch = f.get_string("general.architecture"); arch && *arch != cfg_.arch)
    fail("[lora] {}: adapter is for '{}', the model is '{}'", path, *arch, cfg_.arch);
  const double alpha = f.get_float("adapter.lora.alpha").value_or(0.0);
  auto store = std::make_shared<std::vector<float>>();
  struct Pending {
    int layer, site;
    size_t a, b;
    int64_t rank, in, out;
  };
  std::vector<Pending> found;
  for (int l = 0; l < cfg_.n_layer; ++l)
    for (int s = 0; s < kLoraSites; ++s) {
      const std::string base = layer_tensor(l, kSiteNames[s]) + ".weight";
      const gguf::TensorInfo* ta = f.find_tensor(base + ".lora_a");
      const gguf::TensorInfo* tb = f.find_tensor(base + ".lora_b");
      if (!ta && !tb) continue;
      if (!ta || !tb || ta->ne.size() != 2 || tb->ne.size() != 2)
        fail("[lora] {}: '{}' needs 2-D lora_a and lora_b", path, base);
      const kernels::MatView& w = s == kLoraQ ? weights_->layers[size_t(l)].wq
                                  : s == kLoraK ? weights_->layers[size_t(l)].wk
                                  : s == kLoraV ? weights_->layers[size_t(l)].wv
                                  : s == kLoraO ? weights_->layers[size_t(l)].wo
                                  : s == kLoraGate ? weights_->layers[size_t(l)].w_gate
                                  : s == kLoraUp ? weights_->layers[size_t(l)].w_up
                                                 : weights_->layers[size_t(l)].w_down;
      const int64_t rank = ta->ne[1];
      if (ta->ne[0] != w.cols || tb->ne[0] != rank || tb->ne[1] != w.rows)
        fail("[lora] {}: '{}' has lora_a ne [{}, {}] and lora_b ne [{}, {}], the weight is {} x {}", path, base,
             ta->ne[0], ta->ne[1], tb->ne[0], tb->ne[1], w.rows, w.cols);
      found.push_back({l, s, load_f32(f, *ta, *store), load_f32(f, *tb, *store), rank, w.cols, w.rows});
    }
  if (found.empty()) fail("[lora] {}: no adapter tensors match the model", path);
  for (const Pending& p : found) {
    const float sc = float(alpha != 0 ? scale * alpha / double(p.rank) : scale);
    auto view = [&](size_t off, int64_t rows, int64_t cols) {
      return kernels::MatView{DType::F32, reinterpret_cast<const uint8_t*>(store->data() + off), rows, cols,
                              size_t(cols) * 4};
    };
    weights_->layers[size_t(p.layer)].lora[p.site].push_back(
        {view(p.a, p.rank, p.in), view(p.b, p.out, p.rank), sc, int(adapters_.size())});
  }
  adapters_.push_back(store);
  return int(adapters_.size()) - 1;
}

}  // namespace slm::model
