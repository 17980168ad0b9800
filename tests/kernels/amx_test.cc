// The AMX prefill kernel through the tile emulator (cpu/amx_emu/, any AVX2 CPU): the emulator's own
// instructions against their definitions, then the kernel against the scalar reference and against the AVX2
// table's few-token kernels on the same quantised activations, for every type it takes, with odd row counts,
// row ranges, panel segments, token tails, and tokens whose bits must not depend on where the tiles fall.
// Where the CPU has AMX, the hardware table runs every matmul test through kIsas as well.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/nmse.h"
#include "core/rng.h"
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/x86/tiles.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/reference/reference.h"
#include "quant/quant.h"

namespace slm::kernels {
namespace {

using cpu::x86::TileConfig;
using cpu::x86::TileEmulator;
using matmul_test::prepared_acts;
using matmul_test::random_matrix;

double nmse(std::span<const float> want, std::span<const float> got) { return testing::nmse_vs(want, got); }

constexpr DType kAmxTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                               DType::IQ4_NL, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<int8_t> random_bytes(Rng& rng, size_t n) {
  std::vector<int8_t> b(n);
  for (int8_t& v : b) v = int8_t(int(rng.uniform() * 256.0f) - 128);
  return b;
}

TEST(TileEmulator, DpbssdIsTheDefinedSum) {
  Rng rng(5);
  for (int k : {32, 16, 64}) {
    TileConfig c = cpu::x86::gemm_tile_config(32);
    c.colsb[1] = uint16_t(k), c.rows[2] = uint8_t(k / 4);
    TileEmulator e;
    e.load_config(c);
    const std::vector<int8_t> a = random_bytes(rng, 16 * 64), b = random_bytes(rng, 16 * 64);
    std::vector<int32_t> c0(16 * 16);
    for (int32_t& v : c0) v = int32_t(rng.uniform() * 2e6f) - 1000000;
    e.load(1, a.data(), 64);
    e.load(2, b.data(), 64);
    e.load(0, c0.data(), 64);
    e.dpbssd(0, 1, 2);
    std::vector<int32_t> got(16 * 16 + 4, 0x5A5A5A5A);
    e.store(0, got.data(), 64);
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 16; ++n) {
        int32_t want = c0[size_t(m * 16 + n)];
        for (int j = 0; j < k; ++j) want += int32_t(a[size_t(m * 64 + j)]) * int32_t(b[size_t(j / 4 * 64 + 4 * n + j % 4)]);
        ASSERT_EQ(got[size_t(m * 16 + n)], want) << "k=" << k << " m=" << m << " n=" << n;
      }
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got[256 + size_t(i)], 0x5A5A5A5A) << "store wrote past 16 rows";
  }
}

TEST(TileEmulator, LoadsOnlyTheConfiguredBytesAndStoresOnlyThem) {
  TileConfig c = cpu::x86::gemm_tile_config(16);  // A: 16 rows x 16 bytes, B: 4 rows x 64
  TileEmulator e;
  e.load_config(c);
  std::vector<uint8_t> src(64 * 16);
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 7 + 1);
  e.load(1, src.data(), 40);  // 16 bytes of each 40-byte row, as the kernel reads ActQ8 rows
  std::vector<uint8_t> out(40 * 16, 0xEE);
  e.store(1, out.data(), 40);
  for (int r = 0; r < 16; ++r)
    for (int j = 0; j < 40; ++j)
      ASSERT_EQ(out[size_t(r * 40 + j)], j < 16 ? src[size_t(r * 40 + j)] : 0xEE) << "row " << r << " byte " << j;
}

TEST(TileEmulatorDeathTest, FaultsWhereTheHardwareWould) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        TileEmulator e;
        e.zero(0);
      },
      "before LDTILECFG");
  EXPECT_DEATH(
      {
        TileEmulator e;
        TileConfig c = cpu::x86::gemm_tile_config(32);
        c.rows[2] = 4;  // B rows must be A's colsb / 4
        e.load_config(c);
        e.dpbssd(0, 1, 2);
      },
      "tdpbssd");
  EXPECT_DEATH(
      {
        TileEmulator e;
        TileConfig c = cpu::x86::gemm_tile_config(32);
        c.colsb[3] = 64;  // colsb without rows
        e.load_config(c);
      },
      "tile 3");
}

// y (n x w.rows, NaN outside [r0, r1)) from the emulated kernel over row pieces of `piece`.
std::vector<float> emulated(const MatView& w, const std::vector<uint8_t>& xa, int64_t n, int64_t piece) {
  std::vector<float> y(size_t(n * w.rows), std::nanf(""));
  for (int64_t r0 = 0; r0 < w.rows; r0 += piece)
    cpu::amx_emu::gemm_rows(w, xa.data(), n, r0, std::min(w.rows, r0 + piece), y.data());
  return y;
}

class AmxEmulated : public ::testing::Test {
 protected:
  void SetUp() override {
    avx2_ = cpu_kernels_for(Isa::avx2);
    if (!avx2_) GTEST_SKIP() << "the emulated AMX kernel is built for AVX2 + FMA + F16C, which this CPU lacks";
  }
  const CpuKernels* avx2_ = nullptr;
  Rng rng_{31};
};

TEST_F(AmxEmulated, EveryTypeMatchesReferenceAndFewTokenKernels) {
  for (DType t : kAmxTypes) {
    const int64_t bs = dtype_info(t).block_size;
    // One block, a few, and past one panel segment (64 chunks of 32 columns).
    for (int64_t cols : {bs, 3 * bs, bs == 32 ? 67 * bs : 9 * bs}) {
      for (int64_t rows : {int64_t(37), int64_t(16), int64_t(5)}) {
        const auto m = random_matrix(rng_, t, rows, cols);
        for (int64_t n : {16, 17, 31, 33, 64}) {
          if (cols > 1024 && n > 17) continue;
          const std::vector<float> x = rng_.normal(size_t(n * cols));
          const std::vector<uint8_t> xa = prepared_acts(*avx2_, m.w, x.data(), n);
          std::vector<float> want(size_t(n * rows)), few(size_t(n * rows));
          reference::matmul(m.w, x, n, want);
          const size_t row = avx2_->act_bytes(t, cols);
          for (int64_t t0 = 0; t0 < n; t0 += 3)
            avx2_->matmul_rows(m.w, x.data() + t0 * cols, xa.data() + size_t(t0) * row, std::min<int64_t>(3, n - t0),
                               0, rows, few.data() + t0 * rows);
          for (int64_t piece : {int64_t(5), int64_t(16), rows}) {
            const std::vector<float> got = emulated(m.w, xa, n, piece);
            const std::string what = std::string(quant::type_name(t)) + " rows=" + std::to_string(rows) +
                                     " cols=" + std::to_string(cols) + " n=" + std::to_string(n) +
                                     " piece=" + std::to_string(piece);
            EXPECT_LT(nmse(want, got), 2e-4) << what;
            EXPECT_LT(nmse(few, got), 1e-10) << what;  // same integer sums, same f32 steps
          }
        }
      }
    }
  }
}

// The last tile overlaps the one before it; a token's bits are the same wherever it falls in the tiles.
TEST_F(AmxEmulated, TokensGetTheSameBitsWhereverTheTilesFall) {
  for (DType t : {DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    const int64_t rows = 21, cols = 2304, n = 45;  // 72 chunks: two segments
    const auto m = random_matrix(rng_, t, rows, cols);
    const std::vector<float> x = rng_.normal(size_t(n * cols));
    const std::vector<uint8_t> xa = prepared_acts(*avx2_, m.w, x.data(), n);
    const std::vector<float> all = emulated(m.w, xa, n, rows);
    const size_t row = avx2_->act_bytes(t, cols);
    for (int64_t t0 : {int64_t(8), int64_t(24)}) {
      const int64_t nt = 17;
      const std::vector<uint8_t> part(xa.begin() + ptrdiff_t(size_t(t0) * row), xa.begin() + ptrdiff_t(size_t(t0 + nt) * row));
      const std::vector<float> some = emulated(m.w, part, nt, rows);
      for (int64_t i = 0; i < nt * rows; ++i)
        ASSERT_EQ(std::memcmp(&some[size_t(i)], &all[size_t(t0 * rows + i)], sizeof(float)), 0)
            << quant::type_name(t) << " tokens from " << t0 << ": token " << t0 + i / rows << " row " << i % rows;
    }
  }
}

TEST_F(AmxEmulated, ExtremeBytesDoNotOverflow) {
  // Q8_0 weights at -128 against activations at +-127 over 4096 columns: |sum| up to 128 * 127 * 32 per
  // chunk, well inside int32, and every chunk scaled on its own.
  const int64_t rows = 16, cols = 4096, n = 16;
  auto m = random_matrix(rng_, DType::Q8_0, rows, cols);
  for (size_t i = 0; i < m.bytes.size(); i += 34) std::memset(&m.bytes[i + 2], 0x80, 32);
  std::vector<float> x(size_t(n * cols), 1.0f);
  for (int64_t t = 1; t < n; t += 2)
    for (int64_t j = 0; j < cols; ++j) x[size_t(t * cols + j)] = -1.0f;
  const std::vector<uint8_t> xa = prepared_acts(*avx2_, m.w, x.data(), n);
  std::vector<float> want(size_t(n * rows));
  reference::matmul(m.w, x, n, want);
  EXPECT_LT(nmse(want, emulated(m.w, xa, n, rows)), 1e-8);
}

TEST(AmxTable, OfferedOnlyWithTheAvx512TableAndNamed) {
  EXPECT_STREQ(isa_name(Isa::amx), "amx");
  if (const CpuKernels* k = cpu_kernels_for(Isa::amx)) {
    EXPECT_EQ(k->isa, Isa::amx);
    EXPECT_NE(cpu_kernels_for(Isa::avx512), nullptr);
    std::string why;
    EXPECT_TRUE(cpu::amx::self_check(&why)) << why;
  } else {
    GTEST_SKIP() << "this CPU (or OS) offers no AMX-INT8 tiles; the emulated tests above cover the kernel";
  }
}

}  // namespace
}  // namespace slm::kernels
