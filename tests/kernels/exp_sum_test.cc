// CpuKernels::exp_sum (the online softmax's exponentials) of every compiled table against std::exp.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "kernels/kernels.h"

namespace slm::kernels {
namespace {

TEST(ExpSum, MatchesStdExpOnEveryTable) {
  for (Isa isa : kIsas) {
    const CpuKernels* k = cpu_kernels_for(isa);
    if (!k) continue;
    Rng rng(3);
    std::vector<float> x = rng.normal(1003, 20.0f);
    x.insert(x.end(), {0.0f, -1e-8f, -86.0f, -87.0f, -100.0f, -1e30f, -INFINITY, 3.5f});
    for (float shift : {0.0f, 60.0f, -5.0f}) {
      std::vector<float> y = x;
      for (float& v : y) v = std::min(v, 88.0f + shift);  // exp(v - shift) must stay finite
      const std::vector<float> in = y;
      const float sum = k->exp_sum(y, shift);
      double want_sum = 0.0;
      for (size_t i = 0; i < y.size(); ++i) {
        const double want = std::exp(double(in[i] - shift));  // the same rounded argument
        want_sum += want;
        ASSERT_TRUE(std::isfinite(y[i])) << in[i];
        if (want > 1e-36) {
          EXPECT_NEAR(y[i] / want, 1.0, 3e-7) << isa_name(isa) << " x=" << in[i] << " shift=" << shift;
        } else {
          EXPECT_LE(y[i], 1.01e-36f) << isa_name(isa) << " x=" << in[i];  // clamped near exp(-87): (almost) zero
        }
      }
      EXPECT_NEAR(sum / want_sum, 1.0, 1e-6) << isa_name(isa);
    }
  }
}

}  // namespace
}  // namespace slm::kernels
