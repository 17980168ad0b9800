// Per-tensor type choice of llama.cpp's file types: the layer schedule, output/token_embd and fallbacks.
#include "quant/mix.h"

#include <gtest/gtest.h>

namespace slm::quant {
namespace {

std::vector<MixTensor> llama_tensors(int n_layer, int64_t dim, int64_t ffn, bool tied) {
  std::vector<MixTensor> t{{"token_embd.weight", {dim, 512}}, {"output_norm.weight", {dim}}};
  if (!tied) t.push_back({"output.weight", {dim, 512}});
  for (int l = 0; l < n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) t.push_back({p + n + ".weight", {dim, dim}});
    t.push_back({p + "ffn_gate.weight", {dim, ffn}});
    t.push_back({p + "ffn_up.weight", {dim, ffn}});
    t.push_back({p + "ffn_down.weight", {ffn, dim}});
    t.push_back({p + "attn_norm.weight", {dim}});
  }
  return t;
}

DType type_of(const std::vector<MixTensor>& t, const std::vector<DType>& ty, const std::string& name) {
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i].name == name) return ty[i];
  ADD_FAILURE() << "no tensor " << name;
  return DType::F32;
}

TEST(Mix, FileTypeNumbersAreLlamaCpps) {
  EXPECT_EQ(file_type_from_name("q4_k_m")->id, 15u);
  EXPECT_EQ(file_type_from_name("Q8_0")->id, 7u);
  EXPECT_EQ(file_type_from_name("IQ4_XS")->id, 30u);
  EXPECT_EQ(file_type_from_name("BF16")->id, 32u);
  EXPECT_EQ(file_type_from_name("Q3_K_L")->base, DType::Q3_K);
  EXPECT_FALSE(file_type_from_name("Q4_K_X"));
}

TEST(Mix, Q4KMUsesMoreBitsOnTheLayerSchedule) {
  const auto t = llama_tensors(8, 256, 512, false);
  const MixModel m{.n_layer = 8, .n_head = 8, .n_head_kv = 8};
  const auto ty = choose_types(*file_type_from_name("Q4_K_M"), t, m);
  // use_more_bits(i, 8): i < 1, i >= 7, (i - 1) % 3 == 2 -> layers 0, 3, 6, 7
  for (int l = 0; l < 8; ++l) {
    const DType want = (l == 0 || l == 3 || l == 6 || l == 7) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(type_of(t, ty, "blk." + std::to_string(l) + ".attn_v.weight"), want) << l;
    EXPECT_EQ(type_of(t, ty, "blk." + std::to_string(l) + ".ffn_down.weight"), want) << l;
    EXPECT_EQ(type_of(t, ty, "blk." + std::to_string(l) + ".attn_q.weight"), DType::Q4_K) << l;
  }
  EXPECT_EQ(type_of(t, ty, "output.weight"), DType::Q6_K);
  EXPECT_EQ(type_of(t, ty, "token_embd.weight"), DType::Q4_K);
  EXPECT_EQ(type_of(t, ty, "output_norm.weight"), DType::F32);
}

TEST(Mix, LayerCountersFollowNameOrder) {
  // llama-quantize visits tensors sorted by name: blk.10 comes before blk.2, so the counters differ from
  // the layer numbers once there are more than 10 layers.
  const auto t = llama_tensors(16, 256, 512, false);
  const MixModel m{.n_layer = 16, .n_head = 8, .n_head_kv = 8};
  const auto ty = choose_types(*file_type_from_name("Q4_K_M"), t, m);
  // name order: 0 1 10 11 12 13 14 15 2 3 ...; counter 4 (use_more_bits(4,16): (4-2)%3==2) is blk.12
  EXPECT_EQ(type_of(t, ty, "blk.12.ffn_down.weight"), DType::Q6_K);
  EXPECT_EQ(type_of(t, ty, "blk.13.ffn_down.weight"), DType::Q4_K);  // counter 5 (layer order would say Q6_K)
}

TEST(Mix, TiedEmbeddingTakesTheOutputRule) {
  const auto t = llama_tensors(2, 256, 512, true);
  const MixModel m{.n_layer = 2, .n_head = 8, .n_head_kv = 8};
  EXPECT_EQ(type_of(t, choose_types(*file_type_from_name("Q4_0"), t, m), "token_embd.weight"), DType::Q6_K);
  EXPECT_EQ(type_of(t, choose_types(*file_type_from_name("Q8_0"), t, m), "token_embd.weight"), DType::Q8_0);
}

TEST(Mix, FallbacksForRowsThatDoNotFit) {
  EXPECT_EQ(fallback_type(DType::Q4_K, 64), DType::Q5_0);
  EXPECT_EQ(fallback_type(DType::Q5_K, 64), DType::Q5_1);
  EXPECT_EQ(fallback_type(DType::Q6_K, 64), DType::Q8_0);
  EXPECT_EQ(fallback_type(DType::Q2_K, 64), DType::IQ4_NL);
  EXPECT_EQ(fallback_type(DType::Q3_K, 64), DType::IQ4_NL);
  EXPECT_EQ(fallback_type(DType::IQ4_XS, 96), DType::IQ4_NL);
  EXPECT_EQ(fallback_type(DType::Q4_K, 256), DType::Q4_K);
  EXPECT_EQ(fallback_type(DType::Q6_K, 40), DType::F16);  // not even 32 fits
  const auto t = llama_tensors(2, 64, 160, false);
  const MixModel m{.n_layer = 2, .n_head = 4, .n_head_kv = 2};
  const auto ty = choose_types(*file_type_from_name("Q4_K_M"), t, m);
  EXPECT_EQ(type_of(t, ty, "blk.0.attn_q.weight"), DType::Q5_0);
  EXPECT_EQ(type_of(t, ty, "blk.1.attn_v.weight"), DType::Q8_0);  // Q6_K by the schedule, then fallback
  EXPECT_EQ(type_of(t, ty, "output.weight"), DType::Q8_0);
}

TEST(Mix, OtherMixes) {
  const auto t = llama_tensors(8, 256, 512, false);
  const MixModel m{.n_layer = 8, .n_head = 8, .n_head_kv = 2};  // n_gqa 4
  const auto q3l = choose_types(*file_type_from_name("Q3_K_L"), t, m);
  EXPECT_EQ(type_of(t, q3l, "blk.5.attn_v.weight"), DType::Q5_K);
  EXPECT_EQ(type_of(t, q3l, "blk.5.ffn_down.weight"), DType::Q5_K);
  EXPECT_EQ(type_of(t, q3l, "blk.5.attn_output.weight"), DType::Q5_K);
  const auto q3m = choose_types(*file_type_from_name("Q3_K_M"), t, m);
  EXPECT_EQ(type_of(t, q3m, "blk.1.attn_v.weight"), DType::Q5_K);
  EXPECT_EQ(type_of(t, q3m, "blk.2.attn_v.weight"), DType::Q4_K);
  EXPECT_EQ(type_of(t, q3m, "blk.2.attn_output.weight"), DType::Q4_K);
  const auto q4s = choose_types(*file_type_from_name("Q4_K_S"), t, m);
  EXPECT_EQ(type_of(t, q4s, "blk.3.attn_v.weight"), DType::Q5_K);
  EXPECT_EQ(type_of(t, q4s, "blk.4.attn_v.weight"), DType::Q4_K);
  EXPECT_EQ(type_of(t, q4s, "blk.0.ffn_down.weight"), DType::Q5_K);
  const auto iq4 = choose_types(*file_type_from_name("IQ4_XS"), t, m);
  EXPECT_EQ(type_of(t, iq4, "blk.3.attn_v.weight"), DType::Q5_K);  // n_gqa >= 4
  EXPECT_EQ(type_of(t, iq4, "blk.0.ffn_down.weight"), DType::Q5_K);  // no imatrix
  const auto q2 = choose_types(*file_type_from_name("Q2_K"), t, m);
  EXPECT_EQ(type_of(t, q2, "blk.3.attn_v.weight"), DType::Q4_K);
  EXPECT_EQ(type_of(t, q2, "blk.3.ffn_down.weight"), DType::Q3_K);
  const auto pure = choose_types(*file_type_from_name("Q4_K_M"), t, m, true);
  EXPECT_EQ(type_of(t, pure, "output.weight"), DType::Q4_K);
  const auto f16 = choose_types(*file_type_from_name("F16"), t, m);
  EXPECT_EQ(type_of(t, f16, "output.weight"), DType::F16);
  EXPECT_EQ(type_of(t, f16, "output_norm.weight"), DType::F32);
}

}  // namespace
}  // namespace slm::quant
