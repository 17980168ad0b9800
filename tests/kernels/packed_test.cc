// Weights repacked at load (CpuKernels::pack, MatView::packed) against the scalar reference and against the
// same table on the stored layout: every packable type, odd row counts (a part-filled last group), token
// counts across the tile sizes, row ranges that cut groups, slices, extreme bytes, and pack's bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <tuple>

#include "common/nmse.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/reference/reference.h"
#include "quant/blocks.h"
#include "quant/quant.h"

// Tables with packed layouts, and the products through them.
namespace slm::kernels {
namespace {

using namespace matmul_test;  // random matrices, rows_product, float_type

// Every compiled table on this CPU that has a packed layout.
std::vector<const CpuKernels*> packing_tables() {
  std::vector<const CpuKernels*> out;
  for (Isa isa : kIsas)
    if (const CpuKernels* k = cpu_kernels_for(isa); k && k->pack && k->can_pack && k->matmul_rows) out.push_back(k);
  return out;
}

#define REQUIRE_PACKING_TABLES(tables)                                                              \
  const std::vector<const CpuKernels*> tables = packing_tables();                                  \
  if (tables.empty()) GTEST_SKIP() << "no kernel table with packed layouts is compiled in for this CPU"

constexpr uint8_t kCanary = 0xA5;

// w's packed layout with 64 canary bytes after it; the view points at it.
struct Packed {
  std::vector<uint8_t> bytes;
  MatView w;
};

Packed pack(const CpuKernels& k, MatView w) {
  Packed p;
  p.bytes.assign(packed_bytes(w) + 64, kCanary);
  k.pack(w, p.bytes.data());
  w.packed = p.bytes.data();
  p.w = w;
  return p;
}


double nmse(std::span<const float> want, std::span<const float> got) { return testing::nmse_vs(want, got); }

const DType kTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K, DType::F16};

bool k_quant(DType t) { return t == DType::Q4_K || t == DType::Q6_K; }

TEST(Packed, TablesPackTheDecodeTypes) {
  REQUIRE_PACKING_TABLES(tables);
  for (const CpuKernels* k : tables) {
    for (DType t : kTypes) EXPECT_TRUE(k->can_pack(t)) << isa_name(k->isa) << " " << quant::type_name(t);
    EXPECT_FALSE(k->can_pack(DType::Q2_K)) << isa_name(k->isa);
  }
}

TEST(Packed, MatchesReferenceAndStoredLayout) {
  REQUIRE_PACKING_TABLES(tables);
  Rng rng(41);
  for (const CpuKernels* k : tables) {
    for (DType t : kTypes) {
      const std::vector<int64_t> cols_list = t == DType::F16    ? std::vector<int64_t>{16, 45, 576}
                                             : k_quant(t)       ? std::vector<int64_t>{256, 5 * 256}
                                                                : std::vector<int64_t>{32, 7 * 32, 40 * 32};
      for (int64_t cols : cols_list) {
        std::vector<float> want_all, got_all, stored_all;
        for (int64_t rows : {1, 13, 16, 37}) {
          const RandomMatrix m = random_matrix(rng, t, rows, cols);
          const Packed p = pack(*k, m.w);
          for (size_t i = packed_bytes(m.w); i < p.bytes.size(); ++i)
            ASSERT_EQ(p.bytes[i], kCanary) << "pack wrote past packed_bytes: " << quant::type_name(t);
          for (int64_t n : {1, 2, 3, 4, 5, 8, 9, 13, 17, 33}) {
            const std::vector<float> x = rng.normal(size_t(n * cols));
            std::vector<float> want(size_t(n * rows));
            reference::matmul(m.w, x, n, want);
            const std::vector<float> got = rows_product(*k, p.w, x, n, 0, rows);
            const std::vector<float> stored = rows_product(*k, m.w, x, n, 0, rows);
            for (float v : got) ASSERT_FALSE(std::isnan(v)) << quant::type_name(t) << " rows=" << rows << " n=" << n;
            want_all.insert(want_all.end(), want.begin(), want.end());
            got_all.insert(got_all.end(), got.begin(), got.end());
            stored_all.insert(stored_all.end(), stored.begin(), stored.end());
          }
        }
        const std::string what = std::string(isa_name(k->isa)) + " " + std::string(quant::type_name(t)) +
                                 " cols=" + std::to_string(cols);
        // Same activations as the stored layout (ActQ8 for the integer types): only f32 rounding differs.
        EXPECT_LT(nmse(stored_all, got_all), 1e-10) << what;
        EXPECT_LT(nmse(want_all, got_all), float_type(t) ? 1e-10 : 1e-3) << what;
      }
    }
  }
}

// The F16 kernel reads whole tiles of kActTile tokens from prepare_act's interleaved copy and the rest
// from x, and with many tokens walks blocks of tokens; a token's row must not depend on any of it: each
// token (21: two tiles and a tail of 5; 520 x 4100 columns: blocks of 248, 248 and 24 tokens) gets the
// bits it gets alone. The copy is prepared in two ranges split at a tile, as matmul_parallel's
// threads do, then checked against one call. The AVX2 and AMX tables' packed kernels serve batches below
// kPrefillMinTokens (more go to their panels or tiles on the stored layout), so there the batch is 15 tokens.
TEST(Packed, F16TokensGetTheSameBitsInATileAsAlone) {
  REQUIRE_PACKING_TABLES(tables);
  Rng rng(43);
  for (const CpuKernels* k : tables) {
    for (auto [rows, cols, all_n] : {std::tuple<int64_t, int64_t, int64_t>{37, 45, 21}, {37, 512, 21}, {100, 4100, 520}}) {
      const bool panels_above = k->isa == Isa::avx2 || k->isa == Isa::amx;
      const int64_t n = panels_above ? std::min<int64_t>(all_n, kPrefillMinTokens - 1) : all_n;
      const RandomMatrix m = random_matrix(rng, DType::F16, rows, cols);
      const Packed p = pack(*k, m.w);
      const std::vector<float> x = rng.normal(size_t(n * cols));
      const size_t row = k->act_bytes(DType::F16, cols);
      std::vector<uint8_t> one(std::max<size_t>(1, row * size_t(n)), 0), two(one.size(), 0);
      k->prepare_act(DType::F16, x.data(), n, cols, 0, n, one.data());
      k->prepare_act(DType::F16, x.data(), n, cols, 0, kActTile, two.data());
      k->prepare_act(DType::F16, x.data(), n, cols, kActTile, n, two.data());
      EXPECT_EQ(one, two) << isa_name(k->isa) << " cols=" << cols;
      std::vector<float> all(size_t(n * rows), std::nanf(""));
      k->matmul_rows(p.w, x.data(), one.data(), n, 0, rows, all.data());
      std::vector<float> want(all.size());
      reference::matmul(m.w, x, n, want);
      EXPECT_LT(nmse(want, all), 1e-10) << isa_name(k->isa) << " cols=" << cols << " n=" << n;
      for (int64_t t = 0; t < n; ++t) {
        std::vector<float> alone(size_t(rows), std::nanf(""));
        k->matmul_rows(p.w, x.data() + t * cols, nullptr, 1, 0, rows, alone.data());
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(std::memcmp(&alone[size_t(r)], &all[size_t(t * rows + r)], sizeof(float)), 0)
              << isa_name(k->isa) << " cols=" << cols << " n=" << n << " token " << t << " row " << r << ": "
              << alone[size_t(r)] << " alone, " << all[size_t(t * rows + r)] << " in the batch";
      }
    }
  }
}

TEST(Packed, RowRangesCutGroupsAndLeaveTheRestAlone) {
  REQUIRE_PACKING_TABLES(tables);
  Rng rng(42);
  for (const CpuKernels* k : tables) {
    for (DType t : kTypes) {
      const int64_t rows = 40, cols = k_quant(t) ? 256 : 96, n = 5;
      const RandomMatrix m = random_matrix(rng, t, rows, cols);
      const Packed p = pack(*k, m.w);
      const std::vector<float> x = rng.normal(size_t(n * cols));
      const std::vector<float> full = rows_product(*k, p.w, x, n, 0, rows);
      for (auto [r0, r1] : {std::pair<int64_t, int64_t>{5, 35}, {16, 32}, {0, 3}, {33, 40}, {17, 18}}) {
        const std::vector<float> got = rows_product(*k, p.w, x, n, r0, r1);
        for (int64_t tk = 0; tk < n; ++tk)
          for (int64_t r = 0; r < rows; ++r) {
            const size_t i = size_t(tk * rows + r);
            if (r < r0 || r >= r1)
              ASSERT_TRUE(std::isnan(got[i])) << quant::type_name(t) << " row " << r << " written outside [" << r0
                                              << ", " << r1 << ")";
            else
              ASSERT_EQ(got[i], full[i]) << quant::type_name(t) << " row " << r << " of [" << r0 << ", " << r1 << ")";
          }
      }
    }
  }
}

TEST(Packed, SlicesOnGroupBoundariesKeepThePackedView) {
  REQUIRE_PACKING_TABLES(tables);
  Rng rng(43);
  for (const CpuKernels* k : tables) {
    const RandomMatrix m = random_matrix(rng, DType::Q8_0, 48, 64);
    const Packed p = pack(*k, m.w);
    EXPECT_EQ(p.w.slice_rows(5, 20).packed, nullptr);  // mid-group: the stored layout serves it
    const MatView s = p.w.slice_rows(16, 32);
    ASSERT_EQ(s.packed, p.bytes.data() + 16 * m.w.row_bytes);
    const std::vector<float> x = rng.normal(size_t(3 * 64));
    const std::vector<float> whole = rows_product(*k, p.w, x, 3, 0, 48);
    const std::vector<float> part = rows_product(*k, s, x, 3, 0, 32);
    for (int64_t tk = 0; tk < 3; ++tk)
      for (int64_t r = 0; r < 32; ++r) EXPECT_EQ(part[size_t(tk * 32 + r)], whole[size_t(tk * 48 + 16 + r)]);
  }
}

TEST(Packed, ExtremeBytes) {
  // Q8_0 -128 (valid in a file, never produced by the quantiser), Q4_0 nibbles 0 and 15, and Q4_K with every
  // 6-bit scale and min at 63 (all high bits set) or arbitrary scale bytes, nibbles 0 and 15; Q6_K with
  // q at 0 and 63 (the -32 and +31 ends) and scales -128 and 127.
  REQUIRE_PACKING_TABLES(tables);
  Rng rng(44);
  for (const CpuKernels* k : tables) {
    const int64_t rows = 21, cols = 128;
    RandomMatrix q8 = random_matrix(rng, DType::Q8_0, rows, cols);
    auto* b8 = reinterpret_cast<BlockQ8_0*>(q8.bytes.data());
    for (int64_t b = 0; b < rows * cols / 32; ++b)
      for (int j = 0; j < 32; ++j) b8[b].qs[j] = int8_t((b + j) % 3 == 0 ? -128 : (j % 2 ? 127 : -127));
    RandomMatrix q4 = random_matrix(rng, DType::Q4_0, rows, cols);
    auto* b4 = reinterpret_cast<BlockQ4_0*>(q4.bytes.data());
    for (int64_t b = 0; b < rows * cols / 32; ++b)
      for (int j = 0; j < 16; ++j) b4[b].qs[j] = uint8_t((b + j) % 2 ? 0xF0 : 0x0F);
    RandomMatrix qk = random_matrix(rng, DType::Q4_K, rows, 256);
    auto* bk = reinterpret_cast<BlockQ4_K*>(qk.bytes.data());
    for (int64_t b = 0; b < rows; ++b) {
      for (int i = 0; i < 12; ++i) bk[b].scales[i] = b % 3 == 0 ? uint8_t(0xFF) : uint8_t(rng.below(256));
      for (int j = 0; j < 128; ++j) bk[b].qs[j] = uint8_t((b + j) % 2 ? 0xF0 : 0x0F);
    }
    RandomMatrix q6 = random_matrix(rng, DType::Q6_K, rows, 512);
    auto* b6 = reinterpret_cast<BlockQ6_K*>(q6.bytes.data());
    for (int64_t b = 0; b < rows * 2; ++b) {
      for (int i = 0; i < 16; ++i) b6[b].scales[i] = b % 3 == 0 ? int8_t(i % 2 ? -128 : 127) : int8_t(rng.below(256) - 128);
      for (int j = 0; j < 128; ++j) b6[b].ql[j] = uint8_t((b + j) % 2 ? 0xFF : 0x00);
      for (int j = 0; j < 64; ++j) b6[b].qh[j] = uint8_t((b + j) % 3 ? 0xFF : 0x00);
    }
    for (const RandomMatrix* m : {&q8, &q4, &qk, &q6}) {
      const int64_t cols = m->w.cols;
      const Packed p = pack(*k, m->w);
      for (int64_t n : {1, 4, 8}) {
        const std::vector<float> x = rng.normal(size_t(n * cols));
        std::vector<float> want(size_t(n * rows));
        reference::matmul(m->w, x, n, want);
        EXPECT_LT(nmse(want, rows_product(*k, p.w, x, n, 0, rows)), 2e-4) << quant::type_name(m->w.type) << " n=" << n;
      }
    }
  }
}

}  // namespace
}  // namespace slm::kernels
