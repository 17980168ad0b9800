// Every kernel of every compiled ISA table against the scalar reference, on odd sizes and tails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/rng.h"
#include "common/nmse.h"
#include "kernels/kernels.h"
#include "kernels/reference/reference.h"
#include "quant/quant.h"

namespace slm::kernels {
namespace {

double nmse(std::span<const float> want, std::span<const float> got) {
  return testing::nmse_vs(want, got);
}

std::vector<Isa> compiled_isas() {
  std::vector<Isa> out;
  for (Isa isa : kIsas)
    if (cpu_kernels_for(isa)) out.push_back(isa);
  return out;
}

const size_t kSizes[] = {1, 7, 8, 63, 64, 4096 + 5};

class KernelTest : public ::testing::TestWithParam<Isa> {
 protected:
  const CpuKernels& k() const { return *cpu_kernels_for(GetParam()); }
  Rng rng_{7};
};

TEST_P(KernelTest, RmsNorm) {
  for (size_t n : kSizes) {
    auto x = rng_.normal(n), w = rng_.normal(n);
    std::vector<float> want(n), got(n);
    reference::rmsnorm(x, w, 1e-6f, want);
    k().rmsnorm(x, w, 1e-6f, got);
    EXPECT_LT(nmse(want, got), 1e-12) << "n=" << n;
    k().rmsnorm(x, w, 1e-6f, x);  // in place
    EXPECT_LT(nmse(want, x), 1e-12) << "n=" << n;
  }
}

TEST_P(KernelTest, DotsAndAxpy) {
  for (size_t n : kSizes) {
    auto a = rng_.normal(n), b = rng_.normal(n), y0 = rng_.normal(n);
    std::vector<f16> bh(n);
    reference::to_f16(b, bh.data());
    std::vector<f16> got_h(n);
    k().to_f16(b, got_h.data());
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(bh[i].bits, got_h[i].bits);
    const float want[2] = {reference::dot(a, b), reference::dot_f16(a, bh.data())};
    const float got[2] = {k().dot(a, b), k().dot_f16(a, bh.data())};
    EXPECT_LT(nmse(want, got), 1e-10) << "n=" << n;
    std::vector<float> yw = y0, yg = y0;
    reference::axpy(0.37f, a, yw);
    k().axpy(0.37f, a, yg);
    EXPECT_LT(nmse(yw, yg), 1e-12);
    reference::axpy_f16(-1.5f, bh.data(), yw);
    k().axpy_f16(-1.5f, bh.data(), yg);
    EXPECT_LT(nmse(yw, yg), 1e-12);
    reference::add(a, yw);
    k().add(a, yg);
    reference::scale(yw, 0.5f);
    k().scale(yg, 0.5f);
    EXPECT_LT(nmse(yw, yg), 1e-12);
  }
}

// The KV cache's row store: every table rounds exactly as the reference (nearest, ties to even), on the
// edges of the f16 range: subnormals, ties, overflow to inf, infinities, nan, signed zero.
TEST_P(KernelTest, ToF16IsBitExact) {
  std::vector<float> x = rng_.normal(4096 + 13, 100.0f);
  for (uint32_t bits : {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffc12345u,
                        0x477fe000u, 0x477ff000u, 0x477fefffu, 0x47800000u, 0x38800000u, 0x387fffffu, 0x33000000u,
                        0x33000001u, 0x32ffffffu, 0x34000000u, 0x3f801000u, 0x3f803000u, 0x3f800fffu, 0x00000001u})
    x.push_back(f32_from_bits(bits)), x.push_back(-f32_from_bits(bits));
  for (int e = -30; e <= 17; ++e) x.push_back(std::ldexp(1.0f + float(e & 7) / 2048.0f, e));  // ties and near-ties
  for (size_t n : {x.size(), size_t(1), size_t(15), size_t(17)}) {
    std::vector<f16> want(n), got(n + 1, f16{0xABCD});
    reference::to_f16(std::span(x).first(n), want.data());
    k().to_f16(std::span(x).first(n), got.data());
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(want[i].bits, got[i].bits) << isa_name(GetParam()) << " x=" << x[i] << " bits=" << f32_bits(x[i]);
    EXPECT_EQ(got[n].bits, 0xABCD) << isa_name(GetParam()) << " wrote past " << n;
  }
}

// Greedy sampling's argmax: the first of equal maxima, NaN never wins, 0 when nothing is above -inf; maxima
// placed in every lane and chain of the vector loops and in the tail.
TEST_P(KernelTest, ArgmaxFirstOfEqualsNanNeverWins) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto want = [&](std::span<const float> x) {
    int64_t best = 0;
    float m = -inf;
    for (size_t i = 0; i < x.size(); ++i)
      if (!std::isnan(x[i]) && x[i] > m) m = x[i], best = int64_t(i);
    return best;
  };
  for (size_t n : {size_t(1), size_t(7), size_t(31), size_t(32), size_t(33), size_t(100), size_t(49152 + 11)}) {
    std::vector<float> x = rng_.normal(n);
    for (size_t i = 0; i < n; i += 3) x[i] = std::round(x[i] * 2.0f);  // many ties
    EXPECT_EQ(k().argmax(x), want(x)) << isa_name(GetParam()) << " n=" << n;
    for (size_t at = 0; at < std::min<size_t>(n, 80); ++at) {  // a new maximum at every position, twice
      std::vector<float> y = x;
      y[at] = 1e30f;
      if (at + 37 < n) y[at + 37] = 1e30f;  // a later equal: the first wins
      if (at > 0) y[at - 1] = std::nanf("");
      EXPECT_EQ(k().argmax(y), int64_t(at)) << isa_name(GetParam()) << " n=" << n << " at=" << at;
    }
    std::vector<float> y = x;
    y[n - 1] = inf;  // the maximum in the tail
    EXPECT_EQ(k().argmax(y), int64_t(n - 1)) << isa_name(GetParam()) << " n=" << n;
    y.assign(n, std::nanf(""));
    EXPECT_EQ(k().argmax(y), 0) << isa_name(GetParam()) << " all NaN, n=" << n;
    y.assign(n, -inf);
    if (n > 5) y[5] = -1e38f;
    EXPECT_EQ(k().argmax(y), n > 5 ? 5 : 0) << isa_name(GetParam()) << " -inf but one, n=" << n;
  }
}

// The online softmax's running max: NaN ignored, -inf when empty or nothing else; the maximum in every lane
// and chain of the vector loops and in the tail.
TEST_P(KernelTest, MaxIgnoresNan) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(k().max(std::span<const float>()), -inf) << isa_name(GetParam());
  for (size_t n : {size_t(1), size_t(7), size_t(31), size_t(32), size_t(33), size_t(100), size_t(4096 + 11)}) {
    const std::vector<float> x = rng_.normal(n);
    const float base = *std::max_element(x.begin(), x.end());
    EXPECT_EQ(k().max(x), base) << isa_name(GetParam()) << " n=" << n;
    for (size_t at = 0; at < std::min<size_t>(n, 80); ++at) {
      std::vector<float> y = x;
      y[at] = 1e30f;
      y[(at + 1) % n] = std::nanf("");
      if (n > 1) {
        EXPECT_EQ(k().max(y), 1e30f) << isa_name(GetParam()) << " n=" << n << " at=" << at;
      }
      y[at] = std::nanf("");
      std::vector<float> finite;
      for (float v : y)
        if (!std::isnan(v)) finite.push_back(v);
      const float want = finite.empty() ? -inf : *std::max_element(finite.begin(), finite.end());
      EXPECT_EQ(k().max(y), want) << isa_name(GetParam()) << " n=" << n << " at=" << at << " (NaN there)";
    }
    std::vector<float> y(n, -inf);
    EXPECT_EQ(k().max(y), -inf) << isa_name(GetParam()) << " n=" << n;
    y[n - 1] = -1e38f;  // the tail
    EXPECT_EQ(k().max(y), -1e38f) << isa_name(GetParam()) << " n=" << n;
    y.assign(n, std::nanf(""));
    EXPECT_EQ(k().max(y), -inf) << isa_name(GetParam()) << " all NaN, n=" << n;
  }
}

TEST_P(KernelTest, ElementwiseActivations) {
  for (size_t n : kSizes) {
    auto g = rng_.normal(n, 3.0f), u = rng_.normal(n);
    std::vector<float> want(n), got(n);
    reference::silu_mul(g, u, want);
    k().silu_mul(g, u, got);
    EXPECT_LT(nmse(want, got), 1e-12) << "silu n=" << n;
    reference::gelu_tanh_mul(g, u, want);
    k().gelu_tanh_mul(g, u, got);
    EXPECT_LT(nmse(want, got), 1e-12) << "gelu n=" << n;
    std::vector<float> sw = rng_.normal(n, 10.0f), sg = sw;
    reference::softmax(sw);
    k().softmax(sg);
    EXPECT_LT(nmse(sw, sg), 1e-12) << "softmax n=" << n;
    std::vector<float> cw = rng_.normal(n, 30.0f), cg = cw;
    reference::softcap(cw, 6.0f);
    k().softcap(cg, 6.0f);
    EXPECT_LT(nmse(cw, cg), 1e-12) << "softcap n=" << n;
  }
}

TEST_P(KernelTest, MatmulEveryWeightType) {
  for (uint32_t id = 0; id < 64; ++id) {
    const auto info = dtype_info(id);
    if (!info || !quant::can_dequantize(info->type) || !quant::can_quantize(info->type)) continue;
    const int64_t bs = info->block_size;
    for (int64_t cols : {bs, 3 * bs, bs == 1 ? int64_t(2053) : 9 * bs}) {
      const int64_t rows = 5, n = 3;
      const std::vector<float> wf = rng_.normal(size_t(rows * cols));
      std::vector<uint8_t> wq(row_bytes(info->type, cols) * size_t(rows));
      quant::quantize(info->type, wf.data(), wq.data(), rows, cols);
      const MatView w{info->type, wq.data(), rows, cols, row_bytes(info->type, cols)};
      const std::vector<float> x = rng_.normal(size_t(n * cols));
      std::vector<float> want(size_t(n * rows)), got(size_t(n * rows));
      reference::matmul(w, x, n, want);
      k().matmul(w, x, n, got);
      EXPECT_LT(nmse(want, got), 1e-10) << info->name << " cols=" << cols;
      std::vector<float> rw(static_cast<size_t>(cols)), rg(static_cast<size_t>(cols));
      reference::row_to_f32(w, 3, rw);
      k().row_to_f32(w, 3, rg);
      EXPECT_EQ(rw, rg) << info->name;
      // The reference itself: row r of the product equals the dot of the dequantised row with x.
      std::vector<float> deq(size_t(rows * cols));
      quant::dequantize(info->type, wq.data(), deq.data(), rows * cols);
      double d = 0;
      for (int64_t c = 0; c < cols; ++c) d += double(deq[size_t(2 * cols + c)]) * x[size_t(cols + c)];
      EXPECT_NEAR(want[size_t(rows + 2)], d, 1e-4 * (1 + std::abs(d))) << info->name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, KernelTest, ::testing::ValuesIn(compiled_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

TEST(KernelDispatch, ChoosesACompiledTable) {
  const CpuKernels& k = cpu_kernels();
  EXPECT_EQ(&k, cpu_kernels_for(k.isa));
  EXPECT_NE(cpu_kernels_for(Isa::scalar), nullptr);
}

}  // namespace
}  // namespace slm::kernels
