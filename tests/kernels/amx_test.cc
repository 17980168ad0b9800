// The AMX prefill kernel through the tile emulator (cpu/amx_emu/, any AVX2 CPU): the emulator's own
// instructions against their definitions, then the kernel against the scalar reference and against the AVX2
// table's few-token kernels on the same quantised activations, for every type it takes, with odd row counts,
// row ranges, panel segments, token tails, and tokens whose bits must not depend on where the tiles fall.
// Where the CPU has AMX, the hardware table runs every matmul test through kIsas as well.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/nmse.h"
#include "core/f16.h"
#include "core/rng.h"
#include "kernels/cpu/amx/amx.h"
#include "kernels/cpu/x86/tiles.h"
#include "kernels/kernels.h"
#include "kernels/matmul_test_util.h"
#include "kernels/parallel.h"
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

// Small integers in BF16: every product and sum is exact, so the expected sums are exact whatever the order.
TEST(TileEmulator, Dpbf16psPairsTheDefinedElements) {
  Rng rng(6);
  TileEmulator e;
  e.load_config(cpu::x86::float_tile_config());
  const auto bf = [](int v) { return uint16_t(f32_bits(float(v)) >> 16); };
  std::vector<int> av(16 * 32), bv(16 * 32);
  std::vector<uint16_t> a(av.size()), b(bv.size());
  for (size_t i = 0; i < av.size(); ++i) {
    av[i] = int(rng.uniform() * 17.0f) - 8, bv[i] = int(rng.uniform() * 17.0f) - 8;
    a[i] = bf(av[i]), b[i] = bf(bv[i]);
  }
  std::vector<float> c0(256);
  for (float& v : c0) v = float(int(rng.uniform() * 200.0f) - 100);
  e.load(4, a.data(), 64);
  e.load(6, b.data(), 64);
  e.load(1, c0.data(), 64);
  e.dpbf16ps(1, 4, 6);
  std::vector<float> got(256);
  e.store(1, got.data(), 64);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) {
      float want = c0[size_t(m * 16 + n)];
      for (int k = 0; k < 16; ++k)
        for (int j = 0; j < 2; ++j) want += float(av[size_t(m * 32 + 2 * k + j)] * bv[size_t(k * 32 + 2 * n + j)]);
      ASSERT_EQ(got[size_t(m * 16 + n)], want) << "m=" << m << " n=" << n;
    }
}

// The F16 / BF16 kernel's activations: three BF16 pieces that add back to each value exactly, zero padding.
TEST(AmxFloatAct, PiecesAddBackExactly) {
  Rng rng(8);
  const int64_t cols = 45, n = 3, pc = 64;
  std::vector<float> x = rng.normal(size_t(n * cols));
  x[0] = 1.0f + 0x1.0p-23f, x[1] = -3.14159265f, x[2] = 1e-30f, x[3] = 0.0f, x[4] = -0.0f, x[5] = 6.5e4f;
  std::vector<uint16_t> xa(size_t(3 * pc * n), 0xFFFF);
  cpu::amx_emu::prepare_float_act(x.data(), cols, 0, n, xa.data());
  const auto widen = [](uint16_t h) { return f32_from_bits(uint32_t(h) << 16); };
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < pc; ++j) {
      const uint16_t* p = xa.data() + size_t(t * 3 * pc + j);
      const double sum = double(widen(p[0])) + double(widen(p[pc])) + double(widen(p[2 * pc]));
      if (j < cols)
        ASSERT_EQ(sum, double(x[size_t(t * cols + j)])) << "token " << t << " column " << j;
      else
        ASSERT_EQ(p[0] | p[pc] | p[2 * pc], 0) << "padding, token " << t << " column " << j;
    }
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

// The emulated kernel over row pieces of 5, 16 and all rows against `want` (the reference, within want_nmse)
// and against `same` (another kernel doing the same arithmetic, within 1e-10).
void expect_pieces(const MatView& w, const std::vector<uint8_t>& xa, int64_t n, const std::vector<float>& want,
                   double want_nmse, const std::vector<float>& same) {
  for (int64_t piece : {int64_t(5), int64_t(16), w.rows}) {
    const std::vector<float> got = emulated(w, xa, n, piece);
    const std::string what = std::string(quant::type_name(w.type)) + " rows=" + std::to_string(w.rows) +
                             " cols=" + std::to_string(w.cols) + " n=" + std::to_string(n) +
                             " piece=" + std::to_string(piece);
    EXPECT_LT(nmse(want, got), want_nmse) << what;
    EXPECT_LT(nmse(same, got), 1e-10) << what;
  }
}

// Each token's row from all n prepared rows xa against the same token among 17 tokens taken from 8 and from 24.
void expect_same_bits_in_parts(const MatView& w, const std::vector<uint8_t>& xa, int64_t n, std::string_view what) {
  const std::vector<float> all = emulated(w, xa, n, w.rows);
  const size_t row = xa.size() / size_t(n);
  for (int64_t t0 : {int64_t(8), int64_t(24)}) {
    const int64_t nt = 17;
    const std::vector<uint8_t> part(xa.begin() + ptrdiff_t(size_t(t0) * row), xa.begin() + ptrdiff_t(size_t(t0 + nt) * row));
    const std::vector<float> some = emulated(w, part, nt, w.rows);
    for (int64_t i = 0; i < nt * w.rows; ++i)
      ASSERT_EQ(std::memcmp(&some[size_t(i)], &all[size_t(t0 * w.rows + i)], sizeof(float)), 0)
          << what << " tokens from " << t0 << ": token " << t0 + i / w.rows << " row " << i % w.rows;
  }
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
          expect_pieces(m.w, xa, n, want, 2e-4, few);  // few: same integer sums, same f32 steps
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
    expect_same_bits_in_parts(m.w, xa, n, quant::type_name(t));
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

std::vector<uint8_t> float_acts(const std::vector<float>& x, int64_t n, int64_t cols) {
  std::vector<uint8_t> xa(cpu::amx::float_act_bytes(cols) * size_t(n));
  cpu::amx_emu::prepare_float_act(x.data(), cols, 0, n, xa.data());
  return xa;
}

// F16 and BF16 on the BF16 tiles hold the float contract: 1e-10 against the reference and the f32 kernels.
TEST_F(AmxEmulated, FloatTypesKeepTheFloatContract) {
  for (DType t : {DType::F16, DType::BF16}) {
    for (int64_t cols : {int64_t(7), int64_t(300), int64_t(1100)}) {  // part tiles, three 512-column segments
      for (int64_t rows : {int64_t(37), int64_t(16), int64_t(5)}) {
        const auto m = random_matrix(rng_, t, rows, cols);
        for (int64_t n : {16, 17, 31, 33, 48, 64}) {
          if (cols > 1024 && n > 33) continue;
          const std::vector<float> x = rng_.normal(size_t(n * cols));
          const std::vector<uint8_t> xa = float_acts(x, n, cols);
          std::vector<float> want(size_t(n * rows)), f32(size_t(n * rows));
          reference::matmul(m.w, x, n, want);
          for (int64_t t0 = 0; t0 < n; t0 += 3)
            avx2_->matmul_rows(m.w, x.data() + t0 * cols, nullptr, std::min<int64_t>(3, n - t0), 0, rows,
                               f32.data() + t0 * rows);
          expect_pieces(m.w, xa, n, want, 1e-10, f32);
        }
      }
    }
  }
}

TEST_F(AmxEmulated, FloatTokensGetTheSameBitsWhereverTheTilesFall) {
  const int64_t rows = 40, cols = 700, n = 45;  // token tiles 0, 16, 29: a pair and a lone one
  const auto m = random_matrix(rng_, DType::F16, rows, cols);
  const std::vector<float> x = rng_.normal(size_t(n * cols));
  const std::vector<uint8_t> xa = float_acts(x, n, cols);
  expect_same_bits_in_parts(m.w, xa, n, "F16");
}

// The whole table (routing of amx/table_over.h over the emulated tiles) through matmul_parallel on the pool:
// below 16 tokens the base kernels (F16 reading x), from 16 the tiles, from 64 activations prepared by
// threads and blocks of tokens; fused q/k/v-like outputs sharing one prepared activation.
TEST_F(AmxEmulated, TableThroughMatmulParallel) {
  const CpuKernels& k = cpu::amx_emu::table();
  EXPECT_EQ(k.isa, Isa::amx);
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q6_K, DType::F16, DType::BF16}) {
    const int64_t cols = 512;
    const auto a = random_matrix(rng_, t, 48, cols), b = random_matrix(rng_, t, 20, cols);
    for (int64_t n : {5, 16, 40, 70}) {
      const std::vector<float> x = rng_.normal(size_t(n * cols));
      std::vector<float> want_a(size_t(n * 48)), want_b(size_t(n * 20));
      reference::matmul(a.w, x, n, want_a);
      reference::matmul(b.w, x, n, want_b);
      std::vector<float> ya(want_a.size(), std::nanf("")), yb(want_b.size(), std::nanf(""));
      const MatmulOut outs[] = {{&a.w, ya}, {&b.w, yb}};
      matmul_parallel_fused(k, outs, x, n);
      const double tol = t == DType::F16 || t == DType::BF16 ? 1e-10 : 2e-4;
      const std::string what = std::string(quant::type_name(t)) + " n=" + std::to_string(n);
      EXPECT_LT(nmse(want_a, ya), tol) << what;
      EXPECT_LT(nmse(want_b, yb), tol) << what;
      std::vector<float> alone(want_a.size(), std::nanf(""));
      matmul_parallel(k, a.w, x, n, alone);
      EXPECT_EQ(0, std::memcmp(alone.data(), ya.data(), alone.size() * sizeof(float))) << what << ": fused and alone";
    }
  }
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
