// KvCache: K and V rows per (layer, sequence, position), F16 or F32, allocated for the whole context.
#include <new>

#include "core/error.h"
#include "model/model.h"

namespace slm::model {

KvCache::KvCache(const ModelConfig& cfg, KvCacheOptions opt) {
  if (opt.n_seq < 1) fail("[model] KV cache needs at least one sequence, got n_seq = {}", opt.n_seq);
  if (opt.n_ctx < 0) fail("[model] KV cache size must not be negative, got n_ctx = {}", opt.n_ctx);
  n_ctx_ = opt.n_ctx == 0 ? cfg.n_ctx : opt.n_ctx;
  if (n_ctx_ > cfg.n_ctx)
    fail("[model] KV cache of {} positions exceeds the model's context length {}", n_ctx_, cfg.n_ctx);
  n_layer_ = cfg.n_layer;
  n_seq_ = opt.n_seq;
  kv_dim_ = cfg.kv_dim();
  type_ = opt.type;
  elem_bytes_ = type_ == KvType::f16 ? 2 : 4;
  using u128 = unsigned __int128;
  const u128 wide = u128(n_layer_) * u128(n_seq_) * u128(n_ctx_) * u128(kv_dim_) * elem_bytes_;
  if (wide > (u128(1) << 46))
    fail("[model] KV cache of {} positions x {} sequences would take over 64 TiB; use a smaller n_ctx", n_ctx_,
         n_seq_);
  const size_t bytes = size_t(wide);
  try {
    k_.assign(bytes, 0);
    v_.assign(bytes, 0);
  } catch (const std::bad_alloc&) {
    fail("[model] KV cache of 2 x {} bytes ({} positions x {} sequences) cannot be allocated; use a smaller n_ctx",
         bytes, n_ctx_, n_seq_);
  }
  len_.assign(size_t(n_seq_), 0);
}

size_t KvCache::offset(int layer, int seq, int pos) const {
  SLM_CHECK(layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_ && pos >= 0 && pos < n_ctx_,
            "layer {} seq {} pos {}", layer, seq, pos);
  return ((size_t(layer) * size_t(n_seq_) + size_t(seq)) * size_t(n_ctx_) + size_t(pos)) * size_t(kv_dim_) *
         elem_bytes_;
}

void* KvCache::k_row(int layer, int seq, int pos) { return k_.data() + offset(layer, seq, pos); }
void* KvCache::v_row(int layer, int seq, int pos) { return v_.data() + offset(layer, seq, pos); }

int KvCache::seq_len(int seq) const {
  if (seq < 0 || seq >= n_seq_) fail("[model] sequence id {} out of range [0, {})", seq, n_seq_);
  return len_[size_t(seq)];
}

void KvCache::clear(int seq) { truncate(seq, 0); }

void KvCache::clear_all() {
  for (int& l : len_) l = 0;
}

void KvCache::truncate(int seq, int n) {
  const int len = seq_len(seq);
  if (n < 0 || n > len) fail("[model] cannot truncate sequence {} of length {} to {}", seq, len, n);
  len_[size_t(seq)] = n;
}

void KvCache::set_seq_len(int seq, int n) {
  SLM_CHECK(seq >= 0 && seq < n_seq_ && n >= 0 && n <= n_ctx_, "seq {} n {}", seq, n);
  len_[size_t(seq)] = n;
}

size_t Batch::n_logits() const {
  size_t n = 0;
  for (uint8_t w : want_logits) n += w != 0;
  return n;
}

}  // namespace slm::model
