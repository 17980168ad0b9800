// llama2.c checkpoints (v0 and v1) + tok512.bin -> GGUF, against ggml-org's stories260K.gguf.
#include <gtest/gtest.h>

#include "common/testdata.h"
#include "convert/convert.h"
#include "core/error.h"
#include "io/gguf.h"

namespace slm::convert {
namespace {

using slm::testing::TempDir;

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

class Llama2c : public ::testing::TestWithParam<const char*> {};

TEST_P(Llama2c, MatchesTheReferenceGguf) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  TempDir tmp;
  const ConvertSummary s =
      convert_llama2c((dir / GetParam()).string(), (dir / "tok512.bin").string(), tmp.file("out.gguf"));
  EXPECT_EQ(s.arch, "llama");
  const gguf::File got = gguf::File::open(tmp.file("out.gguf"));
  const gguf::File want = gguf::File::open((dir / "stories260K.gguf").string());
  // Tensors: identical bytes; the reference repeats the shared classifier as output.weight, we tie it.
  EXPECT_EQ(got.tensors().size() + 1, want.tensors().size());
  for (const gguf::TensorInfo& t : got.tensors()) {
    const gguf::TensorInfo* w = want.find_tensor(t.name);
    ASSERT_NE(w, nullptr) << t.name;
    EXPECT_EQ(t.type, w->type) << t.name;
    EXPECT_EQ(t.ne, w->ne) << t.name;
    EXPECT_TRUE(same_bytes(got.tensor_data(t), want.tensor_data(*w))) << t.name;
  }
  EXPECT_TRUE(same_bytes(got.tensor_data(*got.find_tensor("token_embd.weight")),
                         want.tensor_data(*want.find_tensor("output.weight"))));
  // Metadata: the vocabulary and the hyper-parameters. context_length is the checkpoint's seq_len (512);
  // the reference file says 2048 (its converter's default), so it is compared separately.
  for (const gguf::KeyValue& kv : want.metadata()) {
    if (kv.key == "general.name" || kv.key == "llama.context_length" || kv.key == "tokenizer.ggml.seperator_token_id" ||
        kv.key == "tokenizer.ggml.padding_token_id")
      continue;  // the reference writes -1 (as u32) for the absent separator and padding tokens; we omit them
    const gguf::Value* v = got.find(kv.key);
    ASSERT_NE(v, nullptr) << kv.key;
    EXPECT_TRUE(*v == kv.value) << kv.key;
  }
  EXPECT_EQ(got.get_uint("llama.context_length"), 512u);
}

INSTANTIATE_TEST_SUITE_P(Stories260K, Llama2c, ::testing::Values("stories260K.bin", "stories260K.v1.bin"),
                         [](const auto& info) { return std::string(info.param).find("v1") == std::string::npos ? "v0" : "v1"; });

TEST(Llama2cConvert, Q8_0QuantisesTheMatricesOnly) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  TempDir tmp;
  convert_llama2c((dir / "stories260K.bin").string(), (dir / "tok512.bin").string(), tmp.file("q.gguf"), DType::Q8_0);
  const gguf::File g = gguf::File::open(tmp.file("q.gguf"));
  EXPECT_EQ(g.find_tensor("blk.0.attn_q.weight")->type, DType::Q8_0);
  EXPECT_EQ(g.find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
  EXPECT_EQ(g.find_tensor("blk.0.ffn_down.weight")->type, DType::F16);  // rows of 172: not a multiple of 32
  EXPECT_EQ(g.get_uint("general.file_type"), 7u);
}

TEST(Llama2cConvert, TruncatedCheckpointIsAnError) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  TempDir tmp;
  EXPECT_THROW(convert_llama2c((dir / "tok512.bin").string(), (dir / "tok512.bin").string(), tmp.file("x.gguf")), Error);
}

}  // namespace
}  // namespace slm::convert
