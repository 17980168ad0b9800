// matmul_parallel_fused (q/k/v, gate/up in one pool loop) and matmul_parallel give exactly what one
// matmul_rows call over all rows gives on the calling thread: same kernels, rows are independent. Mixed
// weight types, stored and (where the table packs) packed layouts, decode token counts and prefill ones
// (activations prepared on the pool from 64 tokens).
#include <gtest/gtest.h>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/parallel.h"
#include "quant/quant.h"

namespace slm::kernels {
namespace {

using matmul_test::pack_matrix;
using matmul_test::RandomMatrix;
using matmul_test::random_matrix;
using matmul_test::rows_product;

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
      for (bool packed : {false, true}) {
        if (packed && !(k.pack && k.can_pack && k.can_pack(types[0]))) continue;
        std::vector<RandomMatrix> mats;
        for (size_t i = 0; i < types.size(); ++i) {
          mats.push_back(random_matrix(rng, types[i], i == 0 ? 70 : 37, cols));
          if (packed) pack_matrix(k, mats.back());
        }
        for (int64_t n : {1, 3, 8, 9, 64, 77}) {
          const std::vector<float> x = rng.normal(size_t(n * cols));
          std::vector<std::vector<float>> want(mats.size()), got(mats.size());
          std::vector<MatmulOut> outs;
          for (size_t i = 0; i < mats.size(); ++i) {
            want[i] = rows_product(k, mats[i].w, x, n, 0, mats[i].w.rows);  // one call, on this thread
            got[i].assign(size_t(n * mats[i].w.rows), -1.0f);
            outs.push_back({&mats[i].w, got[i]});
          }
          matmul_parallel_fused(k, outs, x, n);
          for (size_t i = 0; i < mats.size(); ++i) {
            std::vector<float> one(got[i].size(), -1.0f);
            matmul_parallel(k, mats[i].w, x, n, one);
            EXPECT_EQ(want[i], one) << quant::type_name(types[i]) << " alone, n=" << n << " threads=" << threads;
            EXPECT_EQ(want[i], got[i]) << quant::type_name(types[i]) << " matrix " << i << " n=" << n
                                       << " threads=" << threads << (packed ? " packed" : "");
          }
        }
      }
    }
  }
  set_threads(0);
}

// Prefill of wide matrices runs one pool loop per block of tokens (4 MiB of f32 activations: 128 tokens at
// 8192 columns; 448 for Q8_0): 136, 300 and 460 tokens cross block boundaries, partial last blocks included.
TEST(MatmulParallelFused, TokenBlocksOfWideMatrices) {
  Rng rng(11);
  const CpuKernels& k = cpu_kernels();
  const int64_t cols = 8192;
  for (DType t : {DType::F16, DType::Q8_0}) {
    std::vector<RandomMatrix> mats;
    for (int64_t rows : {40, 19}) {
      mats.push_back(random_matrix(rng, t, rows, cols));
      pack_matrix(k, mats.back());
    }
    for (int threads : {1, 2}) {
      set_threads(threads);
      for (int64_t n : {136, 300, 460}) {
        const std::vector<float> x = rng.normal(size_t(n * cols));
        std::vector<std::vector<float>> got(mats.size());
        std::vector<MatmulOut> outs;
        for (size_t i = 0; i < mats.size(); ++i) {
          got[i].assign(size_t(n * mats[i].w.rows), -1.0f);
          outs.push_back({&mats[i].w, got[i]});
        }
        matmul_parallel_fused(k, outs, x, n);
        for (size_t i = 0; i < mats.size(); ++i)
          EXPECT_EQ(rows_product(k, mats[i].w, x, n, 0, mats[i].w.rows), got[i])
              << quant::type_name(t) << " matrix " << i << " n=" << n << " threads=" << threads;
      }
    }
  }
  set_threads(0);
}

}  // namespace
}  // namespace slm::kernels
