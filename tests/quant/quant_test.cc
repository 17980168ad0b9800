// Quantise/dequantise properties on random data and edge rows, hand-built blocks that pin the byte layouts,
// the imatrix weighting, and the errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/types/search.h"

namespace slm::quant {
namespace {

struct TypeCase {
  DType type;
  size_t block_bytes;  // sizeof the block struct
  double rel_rmse;     // bound on RMSE / RMS for N(0, 1) rows
};

constexpr TypeCase kTypes[] = {
    {DType::F32, 4, 0.0},
    {DType::F16, 2, 5e-4},
    {DType::BF16, 2, 4e-3},
    {DType::Q4_0, sizeof(BlockQ4_0), 0.12},
    {DType::Q4_1, sizeof(BlockQ4_1), 0.11},
    {DType::Q5_0, sizeof(BlockQ5_0), 0.06},
    {DType::Q5_1, sizeof(BlockQ5_1), 0.05},
    {DType::Q8_0, sizeof(BlockQ8_0), 0.01},
    {DType::Q8_1, sizeof(BlockQ8_1), 0.01},
    {DType::Q2_K, sizeof(BlockQ2_K), 0.35},
    {DType::Q3_K, sizeof(BlockQ3_K), 0.2},
    {DType::Q4_K, sizeof(BlockQ4_K), 0.1},
    {DType::Q5_K, sizeof(BlockQ5_K), 0.05},
    {DType::Q6_K, sizeof(BlockQ6_K), 0.025},
    {DType::Q8_K, sizeof(BlockQ8_K), 0.01},
    {DType::IQ4_NL, sizeof(BlockIQ4_NL), 0.1},
    {DType::IQ4_XS, sizeof(BlockIQ4_XS), 0.1},
};

void PrintTo(const TypeCase& c, std::ostream* os) { *os << type_name(c.type); }

std::string name_of(const ::testing::TestParamInfo<TypeCase>& info) {
  return std::string(type_name(info.param.type));
}

// Quantises rows of x (n_per_row each) and decodes them back.
std::vector<float> round_trip(DType t, const std::vector<float>& x, int64_t n_per_row,
                              const float* imatrix = nullptr) {
  const int64_t rows = int64_t(x.size()) / n_per_row;
  std::vector<char> q(row_bytes(t, n_per_row) * size_t(rows));
  quantize(t, x.data(), q.data(), rows, n_per_row, imatrix);
  std::vector<float> y(x.size());
  dequantize(t, q.data(), y.data(), int64_t(y.size()));
  return y;
}

double rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return std::sqrt(s / double(x.size()));
}

double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s / double(a.size()));
}

class QuantType : public ::testing::TestWithParam<TypeCase> {};

TEST_P(QuantType, BlockSizeMatchesTheDtypeTable) {
  const TypeCase& c = GetParam();
  EXPECT_TRUE(can_quantize(c.type));
  EXPECT_TRUE(can_dequantize(c.type));
  EXPECT_EQ(dtype_info(c.type).block_bytes, c.block_bytes);
  EXPECT_EQ(row_bytes(c.type, 512), size_t(512 / dtype_info(c.type).block_size) * c.block_bytes);
}

TEST_P(QuantType, RoundTripErrorIsBounded) {
  const TypeCase& c = GetParam();
  Rng rng(42);
  const std::vector<float> x = rng.normal(16 * 512);
  const std::vector<float> y = round_trip(c.type, x, 512);
  const double rel = rms_diff(x, y) / rms(x);
  EXPECT_LE(rel, c.rel_rmse);
  if (c.rel_rmse > 0) {
    EXPECT_GT(rel, c.rel_rmse / 20) << "suspiciously exact";
  }
}

TEST_P(QuantType, QuantisingIsDeterministic) {
  const TypeCase& c = GetParam();
  const std::vector<float> x = Rng(3).normal(2 * 256, 0.05f);
  std::vector<char> a(row_bytes(c.type, 256) * 2), b(a.size());
  quantize(c.type, x.data(), a.data(), 2, 256);
  quantize(c.type, x.data(), b.data(), 2, 256);
  EXPECT_EQ(a, b);
}

TEST_P(QuantType, ZeroRowsDecodeToZero) {
  const TypeCase& c = GetParam();
  const std::vector<float> y = round_trip(c.type, std::vector<float>(512, 0.0f), 256);
  for (float v : y) ASSERT_EQ(v, 0.0f);
}

// Constant, huge, tiny, one-outlier, ramp and integer rows: finite output, error within the type's bound
// (relative to the row's RMS; 4x slack for the sparse rows), and never worse than decoding to zero.
TEST_P(QuantType, EdgeRowsStayBounded) {
  const TypeCase& c = GetParam();
  Rng rng(9);
  struct Row {
    const char* name;
    std::vector<float> x;
    double slack;
  };
  std::vector<Row> rows;
  rows.push_back({"constant +0.5", std::vector<float>(256, 0.5f), 1});
  rows.push_back({"constant -3", std::vector<float>(256, -3.0f), 1});
  rows.push_back({"huge", rng.normal(256, 5000.0f), 1.5});
  std::vector<float> outlier(256, 0.0f);
  outlier[77] = 100.0f;
  rows.push_back({"one outlier", outlier, 1});
  std::vector<float> ramp(256), ints(256), positive(256);
  for (int i = 0; i < 256; ++i) {
    ramp[i] = -1.0f + 2.0f * float(i) / 255.0f;
    ints[i] = float(i % 16 - 8);
    positive[i] = rng.uniform();
  }
  rows.push_back({"ramp", ramp, 1.5});
  rows.push_back({"integers -8..7", ints, 1.5});
  rows.push_back({"uniform positive", positive, 1.5});
  for (const Row& r : rows) {
    const std::vector<float> y = round_trip(c.type, r.x, 256);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << r.name;
    EXPECT_LE(rms_diff(r.x, y), std::max(c.rel_rmse * r.slack, 1e-6) * rms(r.x) + 1e-12) << r.name;
  }
  // Values so small that block scales underflow f16: only require finite output and bounded error.
  const std::vector<float> tiny = rng.normal(256, 1e-6f);
  const std::vector<float> y = round_trip(c.type, tiny, 256);
  for (float v : y) ASSERT_TRUE(std::isfinite(v));
  EXPECT_LE(rms_diff(tiny, y), rms(tiny) * 1.0001);
}

// NaN and inf in one block must not crash nor spill into the other blocks of the row.
TEST_P(QuantType, NonFiniteValuesStayInTheirBlock) {
  const TypeCase& c = GetParam();
  const int64_t bs = dtype_info(c.type).block_size, n = 4 * std::max<int64_t>(bs, 32);
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY, 1e30f}) {
    std::vector<float> x = Rng(11).normal(size_t(n));
    x[0] = bad;  // first and last of a sub-block: both ends of every min/max scan
    x[15] = bad;
    const std::vector<float> y = round_trip(c.type, x, n);
    const int64_t clean = std::max<int64_t>(bs, 32);  // the first block (or 32 values) holds the bad value
    const std::vector<float> xs(x.begin() + clean, x.end()), ys(y.begin() + clean, y.end());
    if (c.type == DType::F32) {
      EXPECT_EQ(xs, ys);
    } else {
      EXPECT_LE(rms_diff(xs, ys), c.rel_rmse * rms(xs)) << "bad value " << bad;
    }
  }
}

// With an importance vector the quantiser trades error on unimportant columns for the important ones.
TEST_P(QuantType, ImatrixLowersTheWeightedError) {
  const TypeCase& c = GetParam();
  if (c.rel_rmse < 5e-3 || c.type == DType::Q8_K || c.type == DType::Q8_1)
    GTEST_SKIP() << "activation or float type: no scale search";
  Rng rng(5);
  const int64_t n = 512;
  const std::vector<float> x = rng.normal(size_t(8 * n));
  std::vector<float> imp(n);
  for (float& v : imp) v = std::exp(2.0f * rng.normal());
  auto weighted = [&](const std::vector<float>& y) {
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += imp[i % n] * (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    return s;
  };
  const double plain = weighted(round_trip(c.type, x, n)), aware = weighted(round_trip(c.type, x, n, imp.data()));
  EXPECT_LT(aware, 0.8 * plain);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantType, ::testing::ValuesIn(kTypes), name_of);

TEST(Quant, RejectsBadLengthsAndUnsupportedTypes) {
  std::vector<float> x(64, 1.0f);
  std::vector<char> q(1024);
  EXPECT_THROW(quantize(DType::Q4_0, x.data(), q.data(), 1, 33), Error);
  EXPECT_THROW(quantize(DType::Q4_K, x.data(), q.data(), 1, 64), Error);
  EXPECT_THROW(dequantize(DType::Q6_K, q.data(), x.data(), 64), Error);
  EXPECT_THROW(dequantize(DType::Q8_0, q.data(), x.data(), -32), Error);
  EXPECT_FALSE(can_quantize(DType::IQ2_XXS));
  EXPECT_THROW(dequantize(DType::IQ2_XXS, q.data(), x.data(), 256), Error);
  try {
    quantize(DType::Q5_K, x.data(), q.data(), 1, 64);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[quant]", 0), 0u) << e.what();
  }
}

TEST(Quant, ParallelQuantisingGivesTheSameBytes) {
  const std::vector<float> x = Rng(8).normal(37 * 512, 0.1f);
  std::vector<float> imp(512, 1.0f);
  imp[3] = 50.0f;
  for (const DType t : {DType::Q4_0, DType::Q4_K, DType::IQ4_XS}) {
    std::vector<char> serial(row_bytes(t, 512) * 37), parallel(serial.size());
    quantize(t, x.data(), serial.data(), 37, 512, imp.data());
    quantize_parallel(t, x.data(), parallel.data(), 37, 512, imp.data(), 4);
    EXPECT_EQ(serial, parallel) << type_name(t);
  }
  std::vector<char> q(64);
  EXPECT_THROW(quantize_parallel(DType::Q4_K, x.data(), q.data(), 1, 100, nullptr, 2), Error);
}

TEST(Quant, Q8_1KeepsTheScaledSum) {
  const std::vector<float> x = Rng(2).normal(64);
  BlockQ8_1 b[2];
  quantize(DType::Q8_1, x.data(), b, 1, 64);
  for (const BlockQ8_1& blk : b) {
    int sum = 0;
    for (int8_t q : blk.qs) sum += q;
    const float want = float(sum) * f16_to_f32(blk.d);  // s is rounded once from the unrounded scale
    EXPECT_NEAR(f16_to_f32(blk.s), want, 2e-3f * std::fabs(want) + 1e-6f);
  }
}

TEST(Quant, Q8_KBlockSumsAndScale) {
  std::vector<float> x = Rng(4).normal(256);
  x[10] = 9.0f;  // the largest magnitude: maps to -127 (the scale is negative)
  BlockQ8_K b;
  quantize(DType::Q8_K, x.data(), &b, 1, 256);
  EXPECT_EQ(b.qs[10], -127);
  EXPECT_LT(b.d, 0.0f);
  for (int k = 0; k < 16; ++k) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += b.qs[16 * k + j];
    EXPECT_EQ(b.bsums[k], sum);
  }
}

TEST(Quant, TableGridPicksTheNearestLevel) {
  const float mids[3] = {-2.5f, 0.5f, 5.0f};
  const int8_t levels[4] = {-4, -1, 2, 8};
  const detail::Grid g{.table = levels, .mids = mids, .n = 4};
  for (float v = -10; v <= 10; v += 0.0625f) {
    int best = 0;
    for (int k = 1; k < 4; ++k)
      if (std::fabs(v - levels[k]) < std::fabs(v - levels[best])) best = k;
    if (std::fabs(std::fabs(v - levels[best]) - std::fabs(v - levels[g.nearest(v)])) > 0) {
      ADD_FAILURE() << "v=" << v << " nearest " << g.nearest(v) << " want " << best;
    }
  }
  const detail::Grid u{.lo = -4, .hi = 3};
  EXPECT_EQ(u.nearest(-9.0f), 0);
  EXPECT_EQ(u.nearest(2.6f), 7);
  EXPECT_EQ(u.nearest(0.4f), 4);
  EXPECT_EQ(u.nearest(std::nanf("")), 0);
}

}  // namespace
}  // namespace slm::quant
