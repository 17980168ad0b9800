// llama.cpp's tokenizer vectors (46 cases per vocabulary) against the real GGUF vocabularies, and the
// decode(encode(x)) == x round trip where the tokenizer is lossless.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/testdata.h"
#include "io/gguf.h"
#include "tok_test_util.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {
namespace {

using namespace slm::tok::testing;

struct VocabCase {
  const char* name;
  const char* vocab;                  // vocabulary file under tokenizers/
  std::vector<const char*> vectors;   // NAME.gguf.{inp,out} stems under tokenizers/ (46 cases each)
  bool lossless;                      // decode(encode(x)) == x for every case
};

// bert-bge lowercases, strips accents and collapses whitespace: not lossless.
const VocabCase kCases[] = {
    {"llama_spm", "llamacpp-vocab/ggml-vocab-llama-spm.gguf", {"llamacpp-vocab/ggml-vocab-llama-spm.gguf"}, true},
    {"phi_3", "llamacpp-vocab/ggml-vocab-phi-3.gguf", {"llamacpp-vocab/ggml-vocab-phi-3.gguf"}, true},
    {"gpt_2", "llamacpp-vocab/ggml-vocab-gpt-2.gguf", {"llamacpp-vocab/ggml-vocab-gpt-2.gguf"}, true},
    {"mpt", "llamacpp-vocab/ggml-vocab-mpt.gguf", {"llamacpp-vocab/ggml-vocab-mpt.gguf"}, true},
    {"falcon", "llamacpp-vocab/ggml-vocab-falcon.gguf", {"llamacpp-vocab/ggml-vocab-falcon.gguf"}, true},
    {"starcoder", "llamacpp-vocab/ggml-vocab-starcoder.gguf", {"llamacpp-vocab/ggml-vocab-starcoder.gguf"}, true},
    {"refact", "llamacpp-vocab/ggml-vocab-refact.gguf", {"llamacpp-vocab/ggml-vocab-refact.gguf"}, true},
    {"deepseek_coder", "llamacpp-vocab/ggml-vocab-deepseek-coder.gguf",
     {"llamacpp-vocab/ggml-vocab-deepseek-coder.gguf"}, true},
    {"deepseek_llm", "llamacpp-vocab/ggml-vocab-deepseek-llm.gguf", {"llamacpp-vocab/ggml-vocab-deepseek-llm.gguf"},
     true},
    {"bert_bge", "llamacpp-vocab/ggml-vocab-bert-bge.gguf", {"llamacpp-vocab/ggml-vocab-bert-bge.gguf"}, false},
    {"llama_bpe", "gguf/llama-bpe.gguf", {"llamacpp-vocab/ggml-vocab-llama-bpe.gguf", "gguf/llama-bpe.gguf"}, true},
    {"qwen2", "gguf/qwen2.gguf",
     {"llamacpp-vocab/ggml-vocab-qwen2.gguf", "llamacpp-vocab/ggml-vocab-deepseek-r1-qwen.gguf", "gguf/qwen2.gguf"},
     true},
    {"smollm", "gguf/smollm.gguf", {"gguf/smollm.gguf"}, true},
};

class VocabRef : public ::testing::TestWithParam<VocabCase> {};

// One test per vocabulary (loading dominates): every vector set for it, then the round trip.
TEST_P(VocabRef, MatchesLlamaCppVectorsAndRoundTrips) {
  const VocabCase& c = GetParam();
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const std::string vocab = (dir / c.vocab).string();
  if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "vocabulary " << c.vocab << " absent";
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(vocab));
  for (const char* v : c.vectors) {
    const std::string vec = (dir / v).string();
    const auto texts = read_inp(vec + ".inp");
    const auto want = read_out(vec + ".out");
    ASSERT_EQ(texts.size(), 46u) << v;
    ASSERT_EQ(want.size(), texts.size()) << v;
    int pass = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto got = tok.encode(texts[i], {.add_special = false, .parse_special = false});
      EXPECT_EQ(ids_str(got), ids_str(want[i])) << v << " case " << i << ": '" << texts[i] << "'";
      pass += got == want[i];
      if (c.lossless) EXPECT_EQ(tok.decode(tok.encode(texts[i])), texts[i]) << v << " case " << i;
    }
    EXPECT_EQ(pass, 46) << v;
    std::printf("%s: %d/46 match\n", v, pass);
  }
}

INSTANTIATE_TEST_SUITE_P(All, VocabRef, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// BERT decodes to the lowercased, whitespace-normalised text.
TEST(VocabRefBert, DecodeGivesNormalisedText) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/llamacpp-vocab/ggml-vocab-bert-bge.gguf");
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(dir.string()));
  const auto ids = tok.encode("Hello  World, it's   fine");
  EXPECT_EQ(ids.front(), tok.bos());
  EXPECT_EQ(ids.back(), tok.eos());
  EXPECT_EQ(tok.decode(ids), "hello world , it ' s fine");
}

}  // namespace
}  // namespace slm::tok
