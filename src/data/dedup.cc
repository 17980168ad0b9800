// Exact and MinHash/LSH near-duplicate detection.
#include "data/dedup.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/rng.h"

namespace slm::data {

std::string normalize_text(std::string_view s) {
  std::string out;
  bool space = false;
  for (unsigned char c : s) {
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ', space = false;
    out += char(std::tolower(c));
  }
  return out;
}

uint64_t hash_text(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

namespace {
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<uint64_t> shingles(std::string_view text, int k) {
  const std::string n = normalize_text(text);
  std::vector<std::string_view> words;
  for (size_t i = 0; i < n.size();) {
    const size_t j = std::min(n.find(' ', i), n.size());
    words.emplace_back(n.data() + i, j - i);
    i = j + 1;
  }
  std::vector<uint64_t> out;
  const size_t w = size_t(std::max(1, k));
  if (words.empty()) return out;
  for (size_t i = 0; i + w <= std::max(words.size(), w); ++i) {
    uint64_t h = 0;
    for (size_t j = i; j < std::min(i + w, words.size()); ++j) h = mix(h ^ hash_text(words[j]));
    out.push_back(h);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void check(const MinHashOptions& opt) {
  if (opt.n_perm <= 0 || opt.bands <= 0 || opt.n_perm % opt.bands != 0)
    fail("[dedup] n_perm ({}) must be a positive multiple of bands ({})", opt.n_perm, opt.bands);
}

std::vector<uint64_t> band_keys(const std::vector<uint64_t>& sig, int bands) {
  const size_t rows = sig.size() / size_t(bands);
  std::vector<uint64_t> keys(static_cast<size_t>(bands), 0);
  for (size_t b = 0; b < size_t(bands); ++b) {
    uint64_t h = mix(b + 1);
    for (size_t r = 0; r < rows; ++r) h = mix(h ^ sig[b * rows + r]);
    keys[b] = h;
  }
  return keys;
}
}  // namespace

std::vector<uint64_t> minhash(std::string_view text, const MinHashOptions& opt) {
  check(opt);
  const std::vector<uint64_t> sh = shingles(text, opt.shingle);
  std::vector<uint64_t> sig(size_t(opt.n_perm), std::numeric_limits<uint64_t>::max());
  for (size_t p = 0; p < sig.size(); ++p) {
    const uint64_t salt = mix(opt.seed + p * 0x9e3779b97f4a7c15ull);
    for (uint64_t s : sh) sig[p] = std::min(sig[p], mix(s ^ salt));
  }
  return sig;
}

double signature_similarity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

double jaccard(std::string_view a, std::string_view b, int shingle) {
  const auto x = shingles(a, shingle), y = shingles(b, shingle);
  if (x.empty() && y.empty()) return 1.0;
  std::vector<uint64_t> inter;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(inter));
  return double(inter.size()) / double(x.size() + y.size() - inter.size());
}

DedupResult dedup(const std::vector<std::string>& texts, const MinHashOptions& opt) {
  check(opt);
  DedupResult r;
  std::unordered_set<uint64_t> exact;
  std::vector<std::unordered_map<uint64_t, std::vector<size_t>>> buckets(size_t(opt.bands));
  std::vector<std::vector<uint64_t>> sigs(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!exact.insert(hash_text(normalize_text(texts[i]))).second) {
      ++r.exact_duplicates;
      continue;
    }
    sigs[i] = minhash(texts[i], opt);
    const auto keys = band_keys(sigs[i], opt.bands);
    bool near = false;
    for (size_t b = 0; b < keys.size() && !near; ++b) {
      auto it = buckets[b].find(keys[b]);
      if (it == buckets[b].end()) continue;
      for (size_t j : it->second)
        if (signature_similarity(sigs[i], sigs[j]) >= opt.threshold) near = true;
    }
    if (near) {
      ++r.near_duplicates;
      continue;
    }
    for (size_t b = 0; b < keys.size(); ++b) buckets[b][keys[b]].push_back(i);
    r.keep.push_back(i);
  }
  return r;
}

std::vector<size_t> contaminated(const std::vector<std::string>& train, const std::vector<std::string>& eval,
                                 const MinHashOptions& opt) {
  check(opt);
  std::unordered_set<uint64_t> exact;
  std::vector<std::unordered_map<uint64_t, std::vector<size_t>>> buckets(size_t(opt.bands));
  std::vector<std::vector<uint64_t>> sigs(train.size());
  for (size_t i = 0; i < train.size(); ++i) {
    exact.insert(hash_text(normalize_text(train[i])));
    sigs[i] = minhash(train[i], opt);
    const auto keys = band_keys(sigs[i], opt.bands);
    for (size_t b = 0; b < keys.size(); ++b) buckets[b][keys[b]].push_back(i);
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < eval.size(); ++i) {
    bool hit = exact.count(hash_text(normalize_text(eval[i]))) > 0;
    if (!hit) {
      const auto sig = minhash(eval[i], opt);
      const auto keys = band_keys(sig, opt.bands);
      for (size_t b = 0; b < keys.size() && !hit; ++b) {
        auto it = buckets[b].find(keys[b]);
        if (it == buckets[b].end()) continue;
        for (size_t j : it->second)
          if (signature_similarity(sig, sigs[j]) >= opt.threshold) hit = true;
      }
    }
    if (hit) out.push_back(i);
  }
  return out;
}

}  // namespace slm::data
