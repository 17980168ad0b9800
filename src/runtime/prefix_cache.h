// The prefix cache over a paged KV cache: maps every whole block of tokens a sequence has computed,
// keyed by the chain of token blocks before it, to the KV block that holds it. A new prompt starts on the
// longest run of cached blocks at its start instead of recomputing them. The cache holds one reference
// per block; entries no sequence uses are evicted least recently used first when the pool runs short.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/model.h"

namespace slm::runtime {

class PrefixCache {
 public:
  explicit PrefixCache(model::KvCache& kv) : kv_(kv) {}
  ~PrefixCache();  // releases every block it holds
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  // Key of the block holding `tokens` (one block's worth) after the blocks whose key is `parent`
  // (kRoot for the first block).
  static constexpr uint64_t kRoot = 0x9e3779b97f4a7c15ull;
  static uint64_t key(uint64_t parent, std::span<const int32_t> tokens);
  // The parent key of a sequence's first block: K/V depend on the LoRA adapter (-1: none) too.
  static uint64_t root(int adapter);

  // The cached blocks holding tokens[0, k * block) for the largest k with k * block <= limit, starting
  // from `root`.
  std::vector<int32_t> lookup(std::span<const int32_t> tokens, size_t limit, uint64_t root, uint64_t now);
  // Records that `block` holds `tokens` (one block) after the blocks keyed `parent`; returns the new key.
  // An existing entry for that key is kept (and refreshed).
  uint64_t insert(uint64_t parent, std::span<const int32_t> tokens, int32_t block, uint64_t now);
  // Blocks that only the cache holds (free to evict).
  int evictable() const;
  // Evicts least recently used blocks only the cache holds until the pool has `n` free; false when it
  // cannot get there.
  bool make_free(int n);
  size_t size() const { return map_.size(); }
  void clear();

 private:
  struct Entry {
    uint64_t parent;
    std::vector<int32_t> tokens;
    int32_t block;
    uint64_t used;
  };
  model::KvCache& kv_;
  std::unordered_map<uint64_t, Entry> map_;
};

}  // namespace slm::runtime
