// PrefixCache: chained block keys, lookup of the longest cached prefix, LRU eviction of unused blocks.
#include "runtime/prefix_cache.h"

#include <algorithm>

namespace slm::runtime {

PrefixCache::~PrefixCache() { clear(); }

void PrefixCache::clear() {
  for (auto& [k, e] : map_) kv_.release_block(e.block);
  map_.clear();
}

uint64_t PrefixCache::key(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = parent ^ 0xcbf29ce484222325ull;  // FNV-1a over the parent key's mix and the token ids
  for (int32_t t : tokens) {
    h ^= uint64_t(uint32_t(t));
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h * 0xbf58476d1ce4e5b9ull ^ (h >> 31);
}

uint64_t PrefixCache::root(int adapter) {
  const int32_t a = adapter;
  return adapter < 0 ? kRoot : key(kRoot, std::span(&a, 1));
}

std::vector<int32_t> PrefixCache::lookup(std::span<const int32_t> tokens, size_t limit, uint64_t root,
                                         uint64_t now) {
  std::vector<int32_t> out;
  const size_t b = size_t(kv_.block_size());
  uint64_t parent = root;
  for (size_t at = 0; at + b <= std::min(limit, tokens.size()); at += b) {
    const std::span<const int32_t> part = tokens.subspan(at, b);
    const uint64_t k = key(parent, part);
    auto it = map_.find(k);
    // The key names the chain; the stored parent and tokens make a hash collision a miss, not a wrong hit.
    if (it == map_.end() || it->second.parent != parent || !std::equal(part.begin(), part.end(), it->second.tokens.begin()))
      break;
    it->second.used = now;
    out.push_back(it->second.block);
    parent = k;
  }
  return out;
}

uint64_t PrefixCache::insert(uint64_t parent, std::span<const int32_t> tokens, int32_t block, uint64_t now) {
  const uint64_t k = key(parent, tokens);
  auto [it, fresh] = map_.try_emplace(k, Entry{parent, {tokens.begin(), tokens.end()}, block, now});
  if (fresh) {
    kv_.retain_block(block);
  } else {
    it->second.used = now;
  }
  return k;
}

int PrefixCache::evictable() const {
  int n = 0;
  for (const auto& [k, e] : map_) n += kv_.block_refs(e.block) == 1;
  return n;
}

bool PrefixCache::make_free(int n) {
  if (kv_.free_blocks() >= n) return true;
  std::vector<std::pair<uint64_t, uint64_t>> idle;  // (last use, key) of blocks only the cache holds
  for (const auto& [k, e] : map_) {
    if (kv_.block_refs(e.block) == 1) idle.emplace_back(e.used, k);
  }
  std::sort(idle.begin(), idle.end());
  for (const auto& [used, k] : idle) {
    if (kv_.free_blocks() >= n) break;
    auto it = map_.find(k);
    kv_.release_block(it->second.block);
    map_.erase(it);
  }
  return kv_.free_blocks() >= n;
}

}  // namespace slm::runtime
