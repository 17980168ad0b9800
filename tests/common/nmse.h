// Normalised mean squared error of a result against a reference, the tests' measure of "equal to rounding".
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

namespace slm::testing {

// sum((got - ref)^2) / sum(ref^2); infinity when the sizes differ.
template <typename R, typename G>
double nmse_vs(std::span<const R> ref, std::span<const G> got) {
  if (ref.size() != got.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = double(got[i]) - double(ref[i]);
    num += d * d;
    den += double(ref[i]) * double(ref[i]);
  }
  return num / std::max(den, 1e-300);
}

}  // namespace slm::testing
