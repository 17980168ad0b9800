// slm's whole-model quantisation against llama-quantize's files: the same blocks for the legacy types, the
// same per-tensor types for the Q4_K_M/Q5_K_M/Q6_K mixes, and standard GGUF metadata.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "core/error.h"
#include "io/gguf.h"
#include "model/imatrix.h"
#include "model/quantize_model.h"
#include "quant/quant.h"

namespace slm::model {
namespace {

TEST(QuantizeModel, LegacyTypesGiveLlamaQuantizesBlocks) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  testing::TempDir tmp;
  const gguf::File src = gguf::File::open((dir / "source.f32.gguf").string());
  for (const char* ty : {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "F16", "BF16"}) {
    const std::string out = tmp.file(std::string(ty) + ".gguf");
    quantize_model(src, out, {.file_type = ty, .n_threads = 2});
    const gguf::File got = gguf::File::open(out);
    const gguf::File want = gguf::File::open((dir / (std::string(ty) + ".gguf")).string());
    EXPECT_EQ(got.get_uint("general.file_type"), want.get_uint("general.file_type")) << ty;
    EXPECT_EQ(got.get_uint("general.quantization_version").value_or(0), 2u) << ty;
    for (const gguf::TensorInfo& w : want.tensors()) {
      const gguf::TensorInfo* g = got.find_tensor(w.name);
      ASSERT_NE(g, nullptr) << ty << " " << w.name;
      EXPECT_EQ(g->type, w.type) << ty << " " << w.name;
      const auto a = got.tensor_data(*g), b = want.tensor_data(w);
      ASSERT_EQ(a.size(), b.size()) << ty << " " << w.name;
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << ty << " " << w.name << ": blocks differ";
    }
  }
}

TEST(QuantizeModel, KQuantTypesDecodeCloseToTheSource) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  testing::TempDir tmp;
  const gguf::File src = gguf::File::open((dir / "source.f32.gguf").string());
  const gguf::TensorInfo* q = src.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  const auto sb = src.tensor_data(*q);
  const float* s = reinterpret_cast<const float*>(sb.data());
  // The rms error of llama-quantize's own file for the same type bounds ours (with 25% slack).
  for (const char* ty : {"Q2_K", "Q3_K_S", "Q4_K_S", "Q5_K_S", "Q6_K", "IQ4_NL", "IQ4_XS"}) {
    const std::string out = tmp.file(std::string(ty) + ".gguf");
    quantize_model(src, out, {.file_type = ty, .pure = true});
    const gguf::File got = gguf::File::open(out);
    const gguf::File ref = gguf::File::open((dir / (std::string(ty) + ".gguf")).string());
    auto rms = [&](const gguf::File& f) {
      const gguf::TensorInfo* t = f.find_tensor("blk.0.attn_q.weight");
      std::vector<float> d(size_t(t->n_elements()));
      quant::dequantize(t->type, f.tensor_data(*t).data(), d.data(), t->n_elements());
      double e = 0;
      for (size_t i = 0; i < d.size(); ++i) e += (d[i] - s[i]) * double(d[i] - s[i]);
      return std::sqrt(e / double(d.size()));
    };
    EXPECT_EQ(got.find_tensor("blk.0.attn_q.weight")->type, ref.find_tensor("blk.0.attn_q.weight")->type) << ty;
    EXPECT_LT(rms(got), 1.25 * rms(ref)) << ty;
  }
}

TEST(QuantizeModel, MixesMatchLlamaQuantizesTensorTypes) {
  SLM_REQUIRE_TESTDATA(dir, "models/synthetic");
  testing::TempDir tmp;
  const gguf::File src = gguf::File::open((dir / "llama-tok512-f32.gguf").string());
  for (const char* ty : {"q4_k_m", "q5_k_m", "q4_0"}) {
    std::ifstream jf(dir / ("llama-tok512-" + std::string(ty) + ".ref.json"));
    const nlohmann::json ref = nlohmann::json::parse(jf);
    const std::string out = tmp.file(std::string(ty) + ".gguf");
    const QuantizeReport rep = quantize_model(src, out, {.file_type = ty});
    const gguf::File got = gguf::File::open(out);
    const gguf::File want = gguf::File::open((dir / ("llama-tok512-" + std::string(ty) + ".gguf")).string());
    EXPECT_EQ(got.get_uint("general.file_type"), want.get_uint("general.file_type")) << ty;
    EXPECT_EQ(rep.n_fallback, 0) << ty;
    for (const auto& [name, type] : ref.at("tensor_types").items()) {
      const gguf::TensorInfo* t = got.find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(quant::type_name(t->type), type.get<std::string>()) << ty << " " << name;
    }
    EXPECT_EQ(got.get_string("tokenizer.ggml.model"), src.get_string("tokenizer.ggml.model"));
  }
}

TEST(QuantizeModel, SmallRowsFallBack) {
  SLM_REQUIRE_TESTDATA(path, "models/stories260K/stories260K.gguf");
  testing::TempDir tmp;
  const gguf::File src = gguf::File::open(path.string());
  const QuantizeReport rep = quantize_model(src, tmp.file("q.gguf"), {.file_type = "Q4_K_M"});
  EXPECT_GT(rep.n_fallback, 0);
  const gguf::File got = gguf::File::open(tmp.file("q.gguf"));
  EXPECT_EQ(got.find_tensor("blk.0.attn_q.weight")->type, DType::Q5_0);  // 64 columns: Q4_K -> Q5_0
  EXPECT_EQ(got.get_uint("general.file_type"), 15u);
}

TEST(QuantizeModel, RejectsUnknownTypeAndWrongImatrix) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  testing::TempDir tmp;
  const gguf::File src = gguf::File::open((dir / "source.f32.gguf").string());
  EXPECT_THROW(quantize_model(src, tmp.file("x.gguf"), {.file_type = "Q4_K_X"}), Error);
  Imatrix im;
  im.entries["blk.0.attn_q.weight"].values.assign(100, 1.0f);
  EXPECT_THROW(quantize_model(src, tmp.file("x.gguf"), {.file_type = "Q4_K_M", .imatrix = &im}), Error);
}

}  // namespace
}  // namespace slm::model
