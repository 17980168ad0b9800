// Seeded train / held-out splits, stratified by label so that every label appears in both parts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace slm::data {

struct Split {
  std::vector<size_t> train, eval;  // indices into the input, each increasing
};

// eval_fraction in (0, 1). Within each label the order is shuffled with `seed`, and round(n * fraction)
// items (at least 1 when the label has 2 or more) go to eval. labels may be empty (no stratification).
Split split_indices(const std::vector<std::string>& labels, size_t n, double eval_fraction, uint64_t seed);

}  // namespace slm::data
