// matmul_parallel_fused (q/k/v, gate/up in one pool loop) gives exactly what one matmul_parallel per matrix
// gives: same kernels, rows are independent. Mixed weight types and token counts past the fused limit.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/parallel.h"
#include "quant/quant.h"

namespace slm::kernels {
namespace {

using matmul_test::RandomMatrix;
using matmul_test::random_matrix;

TEST(MatmulParallelFused, SameAsOneCallPerMatrix) {
  Rng rng(9);
  const CpuKernels& k = cpu_kernels();
  const int64_t cols = 256;
  // q, k, v shapes with a type mix like Q4_K_M's (v in Q8_0), then an all-F16 set.
  const std::vector<std::vector<DType>> sets = {{DType::Q5_0, DType::Q5_0, DType::Q8_0},
                                                {DType::Q4_K, DType::Q6_K},
                                                {DType::F16, DType::F16, DType::F16}};
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    for (const std::vector<DType>& types : sets) {
      std::vector<RandomMatrix> mats;
      for (size_t i = 0; i < types.size(); ++i) mats.push_back(random_matrix(rng, types[i], i == 0 ? 70 : 37, cols));
      for (int64_t n : {1, 3, 8, 9}) {
        const std::vector<float> x = rng.normal(size_t(n * cols));
        std::vector<std::vector<float>> want(mats.size()), got(mats.size());
        std::vector<MatmulOut> outs;
        for (size_t i = 0; i < mats.size(); ++i) {
          want[i].resize(size_t(n * mats[i].w.rows));
          got[i].assign(size_t(n * mats[i].w.rows), -1.0f);
          matmul_parallel(k, mats[i].w, x, n, want[i]);
          outs.push_back({&mats[i].w, got[i]});
        }
        matmul_parallel_fused(k, outs, x, n);
        for (size_t i = 0; i < mats.size(); ++i)
          EXPECT_EQ(want[i], got[i]) << quant::type_name(types[i]) << " matrix " << i << " n=" << n
                                     << " threads=" << threads;
      }
    }
  }
  set_threads(0);
}

}  // namespace
}  // namespace slm::kernels
