// f16 / bf16 conversions: exhaustive against the compiler's correctly rounded _Float16, and round trips.
#include <gtest/gtest.h>

#include <cmath>

#include "core/dtype.h"
#include "core/f16.h"

namespace slm {
namespace {

TEST(F16, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const f16 h{uint16_t(b)};
    const float f = f16_to_f32(h);
    _Float16 ref;
    std::memcpy(&ref, &h.bits, 2);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(float(ref))) << b;
      continue;
    }
    EXPECT_EQ(f32_bits(f), f32_bits(float(ref))) << "bits " << b;
    EXPECT_EQ(f32_to_f16(f).bits, h.bits) << "bits " << b;
  }
}

TEST(F16, RoundsToNearestEvenLikeTheCompiler) {
  // Every float whose top bits cover the f16 range, sampled densely: all exponents, many mantissas.
  for (uint64_t u = 0; u < 0x100000000ull; u += 4093) {
    const float f = f32_from_bits(uint32_t(u));
    if (std::isnan(f)) continue;
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    ASSERT_EQ(f32_to_f16(f).bits, want) << "float bits " << std::hex << u;
  }
}

TEST(Bf16, TruncatesWithRoundToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000)).bits, 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000)).bits, 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808001)).bits, 0x3f81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const float f = bf16_to_f32(bf16{uint16_t(b)});
    if (!std::isnan(f)) EXPECT_EQ(f32_to_bf16(f).bits, b);
  }
}

TEST(DType, TableMatchesGgufBlockSizes) {
  EXPECT_EQ(dtype_info(DType::Q4_0).block_bytes, 18u);
  EXPECT_EQ(dtype_info(DType::Q8_0).block_bytes, 34u);
  EXPECT_EQ(dtype_info(DType::Q4_K).block_bytes, 144u);
  EXPECT_EQ(dtype_info(DType::Q6_K).block_bytes, 210u);
  EXPECT_EQ(dtype_info(DType::IQ4_XS).block_bytes, 136u);
  EXPECT_EQ(dtype_info(DType::TQ1_0).block_bytes, 54u);
  EXPECT_FALSE(dtype_info(4u).has_value());   // removed Q4_2
  EXPECT_FALSE(dtype_info(999u).has_value());
  EXPECT_EQ(dtype_from_name("q4_k"), DType::Q4_K);
  EXPECT_FALSE(dtype_from_name("q4_z").has_value());
  EXPECT_EQ(row_bytes(DType::Q4_0, 64), 36u);
}

}  // namespace
}  // namespace slm
