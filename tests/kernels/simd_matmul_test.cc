// The split matmul (prepare_act + matmul_rows) and matmul_parallel of every compiled ISA table against
// the scalar reference, for every weight type, on odd row counts, token tails and row ranges.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "common/nmse.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/parallel.h"
#include "kernels/reference/reference.h"
#include "quant/quant.h"

namespace slm::kernels {
namespace {

double nmse(std::span<const float> want, std::span<const float> got) {
  return testing::nmse_vs(want, got);
}

using matmul_test::float_type;
using matmul_test::prepared_acts;
using matmul_test::random_matrix;
using matmul_test::split_isas;

struct Case {
  matmul_test::RandomMatrix m;
  std::vector<float> x;
};

Case make_case(Rng& rng, DType t, int64_t rows, int64_t cols, int64_t n) {
  auto m = random_matrix(rng, t, rows, cols);
  return Case{std::move(m), rng.normal(size_t(n * cols))};
}

// Runs prepare_act + matmul_rows over [r0, r1) pieces that together cover every row.
std::vector<float> split_product(const CpuKernels& k, const Case& c, int64_t n, int64_t piece) {
  const std::vector<uint8_t> xa = prepared_acts(k, c.m.w, c.x.data(), n);
  std::vector<float> y(size_t(n * c.m.w.rows), std::nanf(""));
  for (int64_t r0 = 0; r0 < c.m.w.rows; r0 += piece)
    k.matmul_rows(c.m.w, c.x.data(), xa.data(), n, r0, std::min(c.m.w.rows, r0 + piece), y.data());
  return y;
}

class SplitMatmulTest : public ::testing::TestWithParam<Isa> {
 protected:
  const CpuKernels& k() const { return *cpu_kernels_for(GetParam()); }
  Rng rng_{11};
};

TEST_P(SplitMatmulTest, EveryWeightTypeMatchesReference) {
  for (uint32_t id = 0; id < 64; ++id) {
    const auto info = dtype_info(id);
    if (!info || !quant::can_dequantize(info->type) || !quant::can_quantize(info->type)) continue;
    if (info->type == DType::Q8_1 || info->type == DType::Q8_K) continue;  // activation formats
    const int64_t bs = info->block_size;
    // Quantised activations cost ~1e-5 of NMSE (int8 per 32 values); float types stay exact.
    const double tol = float_type(info->type) ? 1e-10 : 2e-4;
    const int64_t col_sizes[] = {bs == 1 ? 7 : bs, bs == 1 ? 33 : 3 * bs, bs == 1 ? 1029 : (bs == 32 ? 65 : 5) * bs};
    for (int64_t cols : col_sizes) {
      const int64_t rows = 37;
      Case c = make_case(rng_, info->type, rows, cols, 9);
      for (int64_t n : {9, 4, 3, 1}) {  // tiles + tail, one tile, the tile tail, a lone token
        c.x.resize(size_t(n * cols));
        std::vector<float> want(size_t(n * rows));
        reference::matmul(c.m.w, c.x, n, want);
        for (int64_t piece : {int64_t(5), rows}) {
          const std::vector<float> got = split_product(k(), c, n, piece);
          EXPECT_LT(nmse(want, got), tol) << info->name << " cols=" << cols << " n=" << n << " piece=" << piece;
        }
      }
    }
  }
}

TEST_P(SplitMatmulTest, LargeActivationsAndZeros) {
  // A zero row of activations (scale 0) and one with a huge range must not produce NaN or lose accuracy.
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::Q5_0}) {
    Case c = make_case(rng_, t, 16, 256, 2);
    std::fill(c.x.begin(), c.x.begin() + 256, 0.0f);
    for (size_t i = 256; i < c.x.size(); ++i) c.x[i] *= (i % 7 == 0) ? 1e4f : 1.0f;
    std::vector<float> want(32);
    reference::matmul(c.m.w, c.x, 2, want);
    const std::vector<float> got = split_product(k(), c, 2, 16);
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(got[i], 0.0f) << quant::type_name(t);
    EXPECT_LT(nmse(want, got), 2e-4) << quant::type_name(t);
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, SplitMatmulTest, ::testing::ValuesIn(split_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SplitMatmulTest);

TEST(MatmulParallel, SameAsOneThreadForEveryThreadCount) {
  Rng rng(5);
  const CpuKernels& k = cpu_kernels();
  for (DType t : {DType::F16, DType::Q4_0, DType::Q4_K}) {
    const Case c = make_case(rng, t, 71, 512, 6);
    std::vector<float> one(6 * 71), many(6 * 71);
    set_threads(1);
    matmul_parallel(k, c.m.w, c.x, 6, one);
    for (int threads : {2, 3, 8}) {
      set_threads(threads);
      matmul_parallel(k, c.m.w, c.x, 6, many);
      EXPECT_EQ(one, many) << quant::type_name(t) << " threads=" << threads;  // rows are independent
    }
  }
  set_threads(0);
}

TEST(ThreadPool, EveryTaskRunsOnceAndRangesCover) {
  for (int n : {1, 2, 5}) {
    ThreadPool pool(n);
    for (int rep = 0; rep < 200; ++rep) {
      // Fewer tasks than threads (empty segments), segments of unequal length, and many tasks per segment.
      for (int64_t tasks : {2, 3, 37, 1000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
        pool.parallel_for(tasks, [&](int64_t i) { ++hits[size_t(i)]; });
        for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << n << " threads, " << tasks << " tasks";
      }
      std::vector<int> cover(1001, 0);  // ranges are disjoint: plain ints, no race
      pool.for_range(1001, 16, [&](int64_t b, int64_t e) {
        EXPECT_EQ(b % 16, 0);
        for (int64_t i = b; i < e; ++i) ++cover[size_t(i)];
      });
      for (int v : cover) ASSERT_EQ(v, 1);
      // min_pieces: more, smaller ranges (as a large matrix gets), still disjoint, aligned and covering.
      std::fill(cover.begin(), cover.end(), 0);
      std::atomic<int> pieces{0};
      pool.for_range(
          1001, 16,
          [&](int64_t b, int64_t e) {
            EXPECT_EQ(b % 16, 0);
            ++pieces;
            for (int64_t i = b; i < e; ++i) ++cover[size_t(i)];
          },
          40);
      for (int v : cover) ASSERT_EQ(v, 1);
      ASSERT_EQ(pieces.load(), n == 1 ? 1 : 40);
    }
  }
}

TEST(ThreadPool, NestedLoopsRunOnTheCaller) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(8 * 8);
  pool.parallel_for(8, [&](int64_t i) { pool.parallel_for(8, [&](int64_t j) { ++hits[size_t(i * 8 + j)]; }); });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

}  // namespace
}  // namespace slm::kernels
