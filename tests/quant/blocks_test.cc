// Hand-built blocks pin each layout's bit positions (the fixtures in testdata check them on real files too).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "quant/blocks.h"
#include "quant/quant.h"

namespace slm::quant {
namespace {

template <typename Block>
std::vector<float> decode(DType t, const Block& b) {
  std::vector<float> y(size_t(dtype_info(t).block_size));
  dequantize(t, &b, y.data(), int64_t(y.size()));
  return y;
}

TEST(Blocks, Q4_0NibblesAndOffset) {
  BlockQ4_0 b{};
  b.d = f32_to_f16(2.0f);
  b.qs[0] = 0xF3;  // element 0: 3, element 16: 15
  const std::vector<float> y = decode(DType::Q4_0, b);
  EXPECT_EQ(y[0], -10.0f);
  EXPECT_EQ(y[16], 14.0f);
  EXPECT_EQ(y[1], -16.0f);
}

TEST(Blocks, Q5_0HighBitsComeFromQh) {
  BlockQ5_0 b{};
  b.d = f32_to_f16(1.0f);
  const uint32_t qh = (1u << 0) | (1u << 16);  // bit 4 of elements 0 and 16
  std::memcpy(b.qh, &qh, 4);
  b.qs[0] = 0x21;
  const std::vector<float> y = decode(DType::Q5_0, b);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[16], 2.0f);
  EXPECT_EQ(y[1], -16.0f);
}

TEST(Blocks, Q4_1AndQ5_1AddTheMin) {
  BlockQ4_1 a{};
  a.d = f32_to_f16(0.5f);
  a.m = f32_to_f16(-1.0f);
  a.qs[2] = 0x40;
  EXPECT_EQ(decode(DType::Q4_1, a)[18], 1.0f);
  BlockQ5_1 b{};
  b.d = f32_to_f16(1.0f);
  b.m = f32_to_f16(3.0f);
  const uint32_t qh = 1u << 31;
  std::memcpy(b.qh, &qh, 4);
  EXPECT_EQ(decode(DType::Q5_1, b)[31], 19.0f);
}

TEST(Blocks, Q2_KScalesMinsAndShifts) {
  BlockQ2_K b{};
  b.d = f32_to_f16(1.0f);
  b.dmin = f32_to_f16(1.0f);
  b.scales[3] = 0x52;    // sub-block 3 (elements 48..63): scale 2, min 5
  b.qs[18] = 3 << 2;     // element 50 = 32 * 1 + 18: bits 2..3 of qs[18]
  const std::vector<float> y = decode(DType::Q2_K, b);
  EXPECT_EQ(y[50], 1.0f);
  EXPECT_EQ(y[49], -5.0f);
  EXPECT_EQ(y[18], 0.0f);  // element 18 reads bits 0..1 of the same byte
}

TEST(Blocks, Q3_KScalesAndHmask) {
  BlockQ3_K b{};
  b.d = f32_to_f16(1.0f);
  for (int k = 0; k < 8; ++k) b.scales[k] = 0x11;       // low nibbles: 1 for every sub-block
  for (int k = 8; k < 12; ++k) b.scales[k] = 0xAA;      // high bits: 2 -> codes 33 -> scale +1
  b.scales[2] = 0x21;                                   // sub-block 10: code 34 -> scale +2
  b.hmask[0] = 1;                                       // element 0: bit set -> no -4
  b.hmask[5] = 1 << 5;                                  // element 128 + 32 + 5 = 165 (c = 1, j = 1)
  const std::vector<float> y = decode(DType::Q3_K, b);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], -4.0f);
  EXPECT_EQ(y[165], 0.0f);
  EXPECT_EQ(y[166], -8.0f);
}

TEST(Blocks, Q4_KPacksUpperScalesAndMins) {
  BlockQ4_K b{};
  b.d = f32_to_f16(1.0f);
  b.dmin = f32_to_f16(1.0f);
  b.scales[9] = 0x21;    // sub-block 5: scale low nibble 1, min low nibble 2
  b.scales[1] |= 2 << 6;  // scale high bits 2 -> 33
  b.scales[5] |= 1 << 6;  // min high bits 1 -> 18
  b.qs[64] = 0x30;       // element 160 = 64 * 2 + 32: high nibble of qs[64]
  const std::vector<float> y = decode(DType::Q4_K, b);
  EXPECT_EQ(y[160], 33.0f * 3 - 18);
  EXPECT_EQ(y[161], -18.0f);
  EXPECT_EQ(y[32], 0.0f);  // sub-block 1 ignores the high bits stored beside its own
}

TEST(Blocks, Q5_KHighBitPerSubBlock) {
  BlockQ5_K b{};
  b.d = f32_to_f16(1.0f);
  b.scales[2] = 1;        // sub-block 2: scale 1, min 0
  b.qh[7] = 1 << 2;       // element 64 + 7, sub-block 2
  const std::vector<float> y = decode(DType::Q5_K, b);
  EXPECT_EQ(y[71], 16.0f);
  EXPECT_EQ(y[72], 0.0f);
}

TEST(Blocks, Q6_KSplitsLowAndHighBits) {
  BlockQ6_K b{};
  b.d = f32_to_f16(1.0f);
  for (int8_t& s : b.scales) s = 1;
  b.scales[12] = -2;
  b.ql[72] = 0x50;  // element 200 = 128 + 64 + 8 (k = 2): high nibble of ql[64 + 8]
  b.qh[40] = 0x20;  // bits 4..5 of qh[32 + 8]
  const std::vector<float> y = decode(DType::Q6_K, b);
  EXPECT_EQ(y[200], -10.0f);
  EXPECT_EQ(y[0], -32.0f);
}

TEST(Blocks, IQ4_XSSixBitScales) {
  BlockIQ4_XS b{};
  b.d = f32_to_f16(1.0f);
  b.scales_l[1] = 0x80;  // sub-block 3: low nibble 8
  b.scales_h = 2 << 6;   // sub-block 3: high bits 2 -> ls = 40 -> scale 8
  b.qs[48] = 0x0F;       // elements 96 (low nibble) and 112 (high nibble)
  const std::vector<float> y = decode(DType::IQ4_XS, b);
  EXPECT_EQ(y[96], 113.0f * 8);
  EXPECT_EQ(y[112], -127.0f * 8);
  EXPECT_EQ(y[0], -127.0f * -32);
}

TEST(Blocks, IQ4_NLUsesTheTable) {
  BlockIQ4_NL b{};
  b.d = f32_to_f16(0.5f);
  b.qs[3] = 0x8A;
  const std::vector<float> y = decode(DType::IQ4_NL, b);
  EXPECT_EQ(y[3], 25.0f * 0.5f);
  EXPECT_EQ(y[19], 1.0f * 0.5f);
}

TEST(Blocks, Q8_KScaleIsFloat) {
  BlockQ8_K b{};
  b.d = 0.25f;
  b.qs[255] = -128;
  EXPECT_EQ(decode(DType::Q8_K, b)[255], -32.0f);
}

}  // namespace
}  // namespace slm::quant
