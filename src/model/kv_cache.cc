// KvCache: K and V head rows per (layer, sequence, kv head, position), F16 or F32; either one contiguous region per
// sequence or a shared pool of reference-counted blocks with a block table per sequence (paged).
#include <algorithm>
#include <cstring>
#include <map>
#include <new>

#include "core/error.h"
#include "model/model.h"

namespace slm::model {

KvCache::KvCache(const ModelConfig& cfg, KvCacheOptions opt) {
  if (opt.n_seq < 1) fail("[model] KV cache needs at least one sequence, got n_seq = {}", opt.n_seq);
  if (opt.n_ctx < 0) fail("[model] KV cache size must not be negative, got n_ctx = {}", opt.n_ctx);
  if (opt.block < 0) fail("[model] KV block size must not be negative, got {}", opt.block);
  if (opt.n_blocks < 0) fail("[model] KV pool size must not be negative, got {} blocks", opt.n_blocks);
  n_ctx_ = opt.n_ctx == 0 ? cfg.n_ctx : opt.n_ctx;
  if (n_ctx_ > cfg.n_ctx)
    fail("[model] KV cache of {} positions exceeds the model's context length {}", n_ctx_, cfg.n_ctx);
  n_layer_ = cfg.n_layer;
  n_seq_ = opt.n_seq;
  n_head_kv_ = cfg.n_head_kv;
  head_dim_ = cfg.head_dim;
  type_ = opt.type;
  block_ = opt.block;
  elem_bytes_ = type_ == KvType::f16 ? 2 : 4;
  // Contiguous: n_seq regions of n_ctx positions; paged: n_blocks blocks of `block` positions.
  int64_t n_blocks = 0;
  if (block_ > 0) {
    n_blocks = opt.n_blocks > 0 ? opt.n_blocks : int64_t(n_seq_) * ((n_ctx_ + block_ - 1) / block_);
    if (n_blocks > (int64_t(1) << 30)) fail("[model] KV pool of {} blocks is too large", n_blocks);
  }
  const int64_t units = block_ > 0 ? n_blocks * block_ : int64_t(n_seq_) * n_ctx_;
  using u128 = unsigned __int128;
  const u128 wide = u128(n_layer_) * u128(units) * u128(kv_dim()) * elem_bytes_;
  if (wide > (u128(1) << 46))
    fail("[model] KV cache of {} positions x {} sequences would take over 64 TiB; use a smaller n_ctx", n_ctx_,
         n_seq_);
  const size_t bytes = size_t(wide);
  try {
    k_ = HugeBuffer(bytes);
    v_ = HugeBuffer(bytes);
  } catch (const std::bad_alloc&) {
    fail("[model] KV cache of 2 x {} bytes ({} positions x {} sequences) cannot be allocated; use a smaller n_ctx",
         bytes, n_ctx_, n_seq_);
  }
  len_.assign(size_t(n_seq_), 0);
  if (block_ > 0) {
    table_.resize(size_t(n_seq_));
    refs_.assign(size_t(n_blocks), 0);
    free_.resize(size_t(n_blocks));
    for (size_t i = 0; i < free_.size(); ++i) free_[i] = int32_t(free_.size() - 1 - i);  // block 0 on top
  }
}

size_t KvCache::offset(int layer, int seq, int pos, int h) const {
  SLM_CHECK(layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_ && pos >= 0 && pos < n_ctx_ && h >= 0 &&
                h < n_head_kv_,
            "layer {} seq {} pos {} head {}", layer, seq, pos, h);
  const size_t hd = size_t(head_dim_) * elem_bytes_;
  if (block_ == 0)  // (layer, seq, head, position)
    return (((size_t(layer) * size_t(n_seq_) + size_t(seq)) * size_t(n_head_kv_) + size_t(h)) * size_t(n_ctx_) +
            size_t(pos)) * hd;
  const std::vector<int32_t>& t = table_[size_t(seq)];
  const size_t i = size_t(pos / block_);
  SLM_CHECK(i < t.size(), "seq {} pos {}: no block reserved ({} blocks)", seq, pos, t.size());
  // block b: (layer, head, position in block)
  return (((size_t(t[i]) * size_t(n_layer_) + size_t(layer)) * size_t(n_head_kv_) + size_t(h)) * size_t(block_) +
          size_t(pos % block_)) * hd;
}

void* KvCache::k_head(int layer, int seq, int pos, int h) { return k_.data() + offset(layer, seq, pos, h); }
void* KvCache::v_head(int layer, int seq, int pos, int h) { return v_.data() + offset(layer, seq, pos, h); }

int KvCache::seq_len(int seq) const {
  if (seq < 0 || seq >= n_seq_) fail("[model] sequence id {} out of range [0, {})", seq, n_seq_);
  return len_[size_t(seq)];
}

void KvCache::clear(int seq) { truncate(seq, 0); }

void KvCache::clear_all() {
  for (int s = 0; s < n_seq_; ++s) truncate(s, 0);
}

void KvCache::truncate(int seq, int n) {
  const int len = seq_len(seq);
  if (n < 0 || n > len) fail("[model] cannot truncate sequence {} of length {} to {}", seq, len, n);
  len_[size_t(seq)] = n;
  if (block_ == 0) return;
  std::vector<int32_t>& t = table_[size_t(seq)];
  const size_t keep = size_t((n + block_ - 1) / block_);
  while (t.size() > keep) {
    release_block(t.back());
    t.pop_back();
  }
}

void KvCache::set_seq_len(int seq, int n) {
  SLM_CHECK(seq >= 0 && seq < n_seq_ && n >= 0 && n <= n_ctx_, "seq {} n {}", seq, n);
  SLM_CHECK(block_ == 0 || size_t(n) <= table_[size_t(seq)].size() * size_t(block_), "seq {} n {}", seq, n);
  len_[size_t(seq)] = n;
}

void KvCache::check_block(int b) const {
  SLM_CHECK(block_ > 0 && b >= 0 && size_t(b) < refs_.size(), "block {} of {}", b, refs_.size());
}

int KvCache::block_refs(int b) const {
  check_block(b);
  return refs_[size_t(b)];
}

std::span<const int32_t> KvCache::block_table(int seq) const {
  if (seq < 0 || seq >= n_seq_) fail("[model] sequence id {} out of range [0, {})", seq, n_seq_);
  if (block_ == 0) return {};
  return table_[size_t(seq)];
}

void KvCache::retain_block(int b) {
  check_block(b);
  SLM_CHECK(refs_[size_t(b)] > 0, "block {} is free", b);
  ++refs_[size_t(b)];
}

void KvCache::release_block(int b) {
  check_block(b);
  SLM_CHECK(refs_[size_t(b)] > 0, "block {} released twice", b);
  if (--refs_[size_t(b)] == 0) free_.push_back(int32_t(b));
}

int32_t KvCache::take_block() {
  SLM_CHECK(!free_.empty(), "KV pool empty");
  const int32_t b = free_.back();
  free_.pop_back();
  refs_[size_t(b)] = 1;
  return b;
}

int KvCache::blocks_needed(int seq, int n) const {
  const int len = seq_len(seq);
  if (block_ == 0 || n <= len) return 0;
  const std::vector<int32_t>& t = table_[size_t(seq)];
  const int want = (n + block_ - 1) / block_;
  int need = std::max(0, want - int(t.size()));
  for (int i = len / block_; i < std::min(want, int(t.size())); ++i) need += refs_[size_t(t[size_t(i)])] > 1;
  return need;
}

bool KvCache::reserve(int seq, int n) {
  if (n > n_ctx_) fail("[model] sequence {}: {} positions do not fit the context of {}", seq, n, n_ctx_);
  if (block_ == 0) return true;
  if (blocks_needed(seq, n) > free_blocks()) return false;
  const int len = seq_len(seq);
  if (n <= len) return true;
  std::vector<int32_t>& t = table_[size_t(seq)];
  const int want = (n + block_ - 1) / block_;
  for (int i = len / block_; i < std::min(want, int(t.size())); ++i) {
    const int32_t old = t[size_t(i)];
    if (refs_[size_t(old)] == 1) continue;
    const int32_t b = take_block();  // copy on write: others keep the old block
    const size_t bytes = block_bytes();
    std::memcpy(k_.data() + size_t(b) * bytes, k_.data() + size_t(old) * bytes, bytes);
    std::memcpy(v_.data() + size_t(b) * bytes, v_.data() + size_t(old) * bytes, bytes);
    release_block(old);
    t[size_t(i)] = b;
  }
  while (int(t.size()) < want) t.push_back(take_block());
  return true;
}

void KvCache::reserve_batch(const Batch& batch) {
  if (block_ == 0) return;
  // seq -> one past its last position in the batch. A batch the forward pass will refuse (bad ids, holes,
  // positions past the context) reserves nothing: the forward's own check reports it.
  std::map<int, int> end;
  for (size_t i = 0; i < batch.size() && i < batch.positions.size() && i < batch.seq_ids.size(); ++i) {
    const int seq = batch.seq_ids[i], pos = batch.positions[i];
    if (seq < 0 || seq >= n_seq_ || pos >= n_ctx_) return;
    int& e = end.try_emplace(seq, len_[size_t(seq)]).first->second;
    if (pos != e) return;
    ++e;
  }
  int need = 0;
  for (auto [seq, n] : end) need += blocks_needed(seq, n);
  if (need > free_blocks())
    fail("[model] KV pool exhausted: the batch needs {} more blocks, {} of {} are free", need, free_blocks(),
         n_blocks());
  for (auto [seq, n] : end) SLM_CHECK(reserve(seq, n), "seq {} n {}", seq, n);
}

void KvCache::attach(int seq, std::span<const int32_t> blocks, int n) {
  if (block_ == 0) fail("[model] attach needs a paged KV cache");
  if (seq_len(seq) != 0 || !table_[size_t(seq)].empty()) fail("[model] attach: sequence {} is not empty", seq);
  if (n < 0 || size_t(n) > blocks.size() * size_t(block_) || n > n_ctx_ ||
      blocks.size() > size_t((n_ctx_ + block_ - 1) / block_))
    fail("[model] attach: {} positions do not fit {} blocks of {}", n, blocks.size(), block_);
  for (int32_t b : blocks) retain_block(b);
  table_[size_t(seq)].assign(blocks.begin(), blocks.end());
  len_[size_t(seq)] = n;
}

size_t Batch::n_logits() const {
  size_t n = 0;
  for (uint8_t w : want_logits) n += w != 0;
  return n;
}

}  // namespace slm::model
