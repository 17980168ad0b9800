// Model: loading (GGUF through the architecture registry, or a llama2.c .bin), forward and prefill.
#include "model/model.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/forward.h"
#include "model/llama2c.h"
#include "model/lora.h"
#include "model/registry.h"

namespace slm::model {

struct LoadedFile {
  std::shared_ptr<const gguf::File> gguf;  // GGUF models
  MappedFile bin;                          // llama2.c checkpoints
};

namespace {

// Repacks every projection the active kernel table has a faster layout for (MatView::packed) into one
// buffer the Model owns; MatView::data keeps pointing at the mapped file for everything else (embedding
// rows, other tables, training). SLM_NO_REPACK=1 keeps the stored layout only (for comparisons).
std::shared_ptr<HugeBuffer> pack_weights(Weights& w) {
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  if (!k.pack || !k.can_pack) return nullptr;
  if (const char* e = std::getenv("SLM_NO_REPACK"); e && *e && std::string_view(e) != "0") return nullptr;
  std::vector<MatView*> mats;
  const auto want = [&](MatView& m) {
    if (m.data && m.rows > 0 && k.can_pack(m.type)) mats.push_back(&m);
  };
  for (LayerWeights& L : w.layers)
    for (MatView* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) want(*m);
  want(w.output);
  if (mats.empty()) return nullptr;
  std::vector<size_t> off(mats.size() + 1, 0);
  for (size_t i = 0; i < mats.size(); ++i) off[i + 1] = off[i] + (kernels::packed_bytes(*mats[i]) + 63) / 64 * 64;
  // Huge pages: decode streams the whole buffer per token.
  std::shared_ptr<HugeBuffer> store;
  try {
    store = std::make_shared<HugeBuffer>(off.back(), false);  // pack writes every byte read
  } catch (const std::bad_alloc&) {
    fail("[model] cannot allocate {} bytes for repacked weights (SLM_NO_REPACK=1 skips them)", off.back());
  }
  uint8_t* raw = store->data();
  // One task per matrix, largest first, so the threads finish together: a tied output matrix is a quarter
  // of Llama-3.2-1B F16's bytes (ranges of the list in order left one thread 1.6 s behind the other).
  std::vector<size_t> order(mats.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return off[a + 1] - off[a] > off[b + 1] - off[b]; });
  global_pool().parallel_for(int64_t(order.size()), [&](int64_t t) {
    const size_t i = order[size_t(t)];
    k.pack(*mats[i], raw + off[i]);
  });
  for (size_t i = 0; i < mats.size(); ++i) mats[i]->packed = raw + off[i];
  return store;
}

}  // namespace

Model::Model() : file_(std::make_unique<LoadedFile>()), weights_(std::make_unique<Weights>()) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const gguf::File* Model::gguf() const { return file_->gguf.get(); }

Model Model::load(const std::string& path) {
  MappedFile map(path);
  if (map.size() >= 4 && std::memcmp(map.data(), "GGUF", 4) == 0) {
    map = MappedFile();
    return from_gguf(std::make_shared<const gguf::File>(gguf::File::open(path)));
  }
  Model m;
  m.file_->bin = std::move(map);
  load_llama2c(m.file_->bin, m.cfg_, *m.weights_);
  return m;
}

Model Model::from_gguf(std::shared_ptr<const gguf::File> file) {
  SLM_CHECK(file != nullptr);
  const std::optional<std::string> arch = file->get_string("general.architecture");
  if (!arch) fail("[model] metadata key 'general.architecture' missing");
  const ArchSpec* spec = find_arch(*arch);
  if (!spec)
    fail("[model] architecture '{}' is not supported (known: {})", *arch, fmt::join(arch_names(), ", "));
  Model m;
  m.arch_ = spec;
  m.cfg_ = spec->read_config(*file);
  m.cfg_.validate(/*check_vocab=*/false);
  spec->bind(TensorBinder(*file), m.cfg_, *m.weights_);
  m.cfg_.validate();
  m.packed_ = pack_weights(*m.weights_);
  m.file_->gguf = std::move(file);
  return m;
}

void Model::forward(const Batch& batch, KvCache& kv, std::span<float> logits_out) const {
  const auto fwd = arch_ && arch_->forward ? arch_->forward : decoder_forward;
  if (!batch.adapters.empty()) {
    if (batch.adapters.size() != batch.tokens.size())
      fail("[model] batch has {} adapter entries for {} rows", batch.adapters.size(), batch.tokens.size());
    for (int32_t a : batch.adapters) {
      if (a < -1 || a >= n_loras()) fail("[model] batch row uses adapter {}; the model has {}", a, n_loras());
    }
  }
  kv.reserve_batch(batch);  // a paged cache backs the positions the batch writes (no-op when contiguous)
  const LoraRowsScope lora_rows(batch.adapters);
  fwd(cfg_, *weights_, batch, kv, logits_out);
}

std::vector<float> Model::prefill(std::span<const int32_t> tokens, KvCache& kv, int seq, bool all_logits,
                                  int chunk) const {
  if (chunk < 1) fail("[model] prefill chunk size must be positive, got {}", chunk);
  const size_t nv = size_t(cfg_.n_vocab);
  std::vector<float> out(all_logits ? tokens.size() * nv : (tokens.empty() ? 0 : nv));
  size_t done = 0, rows_out = 0;
  Batch b;
  while (done < tokens.size()) {
    const size_t len = std::min(size_t(chunk), tokens.size() - done);
    b.clear();
    const int start = kv.seq_len(seq);
    for (size_t i = 0; i < len; ++i) {
      const bool last = done + i + 1 == tokens.size();
      b.add(tokens[done + i], start + int(i), seq, all_logits || last);
    }
    const size_t n_out = b.n_logits();
    forward(b, kv, std::span(out).subspan(rows_out * nv, n_out * nv));
    rows_out += n_out;
    done += len;
  }
  return out;
}

}  // namespace slm::model
