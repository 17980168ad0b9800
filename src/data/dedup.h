// Duplicate removal: exact duplicates by a hash of the normalised text, near duplicates by MinHash
// signatures over word 3-gram shingles with LSH banding, and the decontamination check (eval vs train).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slm::data {

// Lower-cased, whitespace runs collapsed to one space, trimmed.
std::string normalize_text(std::string_view s);
uint64_t hash_text(std::string_view s);  // FNV-1a 64 of the bytes

struct MinHashOptions {
  int n_perm = 128;   // signature length = bands * rows
  int bands = 32;     // LSH bands; candidates share a band; pairs are confirmed by signature agreement
  int shingle = 3;    // words per shingle
  double threshold = 0.8;  // estimated Jaccard similarity at or above which two texts are near duplicates
  uint64_t seed = 0x5eed;
};

std::vector<uint64_t> minhash(std::string_view text, const MinHashOptions& opt);
double signature_similarity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);
// Exact Jaccard similarity of the shingle sets (for tests and reports).
double jaccard(std::string_view a, std::string_view b, int shingle = 3);

struct DedupResult {
  std::vector<size_t> keep;       // indices kept, increasing (the first of each group)
  size_t exact_duplicates = 0;
  size_t near_duplicates = 0;
};
DedupResult dedup(const std::vector<std::string>& texts, const MinHashOptions& opt = {});

// Indices of `eval` texts that equal or nearly equal some `train` text.
std::vector<size_t> contaminated(const std::vector<std::string>& train, const std::vector<std::string>& eval,
                                 const MinHashOptions& opt = {});

}  // namespace slm::data
