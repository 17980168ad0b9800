// Stratified seeded split.
#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/rng.h"

namespace slm::data {

Split split_indices(const std::vector<std::string>& labels, size_t n, double eval_fraction, uint64_t seed) {
  if (!(eval_fraction > 0.0 && eval_fraction < 1.0)) fail("[split] eval fraction must be in (0, 1), got {}", eval_fraction);
  if (!labels.empty() && labels.size() != n) fail("[split] {} labels for {} rows", labels.size(), n);
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[labels.empty() ? std::string() : labels[i]].push_back(i);
  Rng rng(seed);
  Split s;
  for (auto& [label, idx] : groups) {
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[size_t(rng.next_u64() % i)]);
    size_t k = size_t(std::llround(double(idx.size()) * eval_fraction));
    if (idx.size() >= 2) k = std::clamp<size_t>(k, 1, idx.size() - 1);
    s.eval.insert(s.eval.end(), idx.begin(), idx.begin() + ptrdiff_t(k));
    s.train.insert(s.train.end(), idx.begin() + ptrdiff_t(k), idx.end());
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.eval.begin(), s.eval.end());
  return s;
}

}  // namespace slm::data
