// llama.cpp's tokenizer vectors (46 cases per vocabulary) against the real GGUF vocabularies, and the
// decode(encode(x)) == x round trip where the tokenizer is lossless.
#include <gtest/gtest.h>

#include <map>

#include "common/testdata.h"
#include "io/gguf.h"
#include "tok_test_util.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {
namespace {

using namespace slm::tok::testing;

struct VocabCase {
  const char* name;   // vectors: tokenizers/llamacpp-vocab/ggml-vocab-NAME.gguf.{inp,out} or tokenizers/gguf
  const char* vocab;  // vocabulary file under tokenizers/
  const char* vectors;
  bool lossless;      // decode(encode(x)) == x for every case
};

// bert-bge lowercases, drops accents' combining order and collapses whitespace: not lossless.
const VocabCase kCases[] = {
    {"llama-spm", "llamacpp-vocab/ggml-vocab-llama-spm.gguf", "llamacpp-vocab/ggml-vocab-llama-spm.gguf", true},
    {"phi-3", "llamacpp-vocab/ggml-vocab-phi-3.gguf", "llamacpp-vocab/ggml-vocab-phi-3.gguf", true},
    {"gpt-2", "llamacpp-vocab/ggml-vocab-gpt-2.gguf", "llamacpp-vocab/ggml-vocab-gpt-2.gguf", true},
    {"mpt", "llamacpp-vocab/ggml-vocab-mpt.gguf", "llamacpp-vocab/ggml-vocab-mpt.gguf", true},
    {"falcon", "llamacpp-vocab/ggml-vocab-falcon.gguf", "llamacpp-vocab/ggml-vocab-falcon.gguf", true},
    {"starcoder", "llamacpp-vocab/ggml-vocab-starcoder.gguf", "llamacpp-vocab/ggml-vocab-starcoder.gguf", true},
    {"refact", "llamacpp-vocab/ggml-vocab-refact.gguf", "llamacpp-vocab/ggml-vocab-refact.gguf", true},
    {"deepseek-coder", "llamacpp-vocab/ggml-vocab-deepseek-coder.gguf", "llamacpp-vocab/ggml-vocab-deepseek-coder.gguf",
     true},
    {"deepseek-llm", "llamacpp-vocab/ggml-vocab-deepseek-llm.gguf", "llamacpp-vocab/ggml-vocab-deepseek-llm.gguf",
     true},
    {"bert-bge", "llamacpp-vocab/ggml-vocab-bert-bge.gguf", "llamacpp-vocab/ggml-vocab-bert-bge.gguf", false},
    {"llama-bpe", "gguf/llama-bpe.gguf", "llamacpp-vocab/ggml-vocab-llama-bpe.gguf", true},
    {"qwen2", "gguf/qwen2.gguf", "llamacpp-vocab/ggml-vocab-qwen2.gguf", true},
    {"deepseek-r1-qwen", "gguf/qwen2.gguf", "llamacpp-vocab/ggml-vocab-deepseek-r1-qwen.gguf", true},
    {"gguf/llama-bpe", "gguf/llama-bpe.gguf", "gguf/llama-bpe.gguf", true},
    {"gguf/qwen2", "gguf/qwen2.gguf", "gguf/qwen2.gguf", true},
    {"gguf/smollm", "gguf/smollm.gguf", "gguf/smollm.gguf", true},
};

// One tokenizer per vocabulary file for the whole suite (loading dominates the test time).
const Tokenizer& cached(const std::string& path) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, Tokenizer::from_gguf(gguf::File::open(path))).first;
  return it->second;
}

class VocabRef : public ::testing::TestWithParam<VocabCase> {};

TEST_P(VocabRef, MatchesLlamaCppVectors) {
  const VocabCase& c = GetParam();
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const std::string vocab = (dir / c.vocab).string(), vec = (dir / c.vectors).string();
  if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "vocabulary " << c.vocab << " absent";
  const Tokenizer& tok = cached(vocab);
  const auto texts = read_inp(vec + ".inp");
  const auto want = read_out(vec + ".out");
  ASSERT_EQ(texts.size(), 46u);
  ASSERT_EQ(want.size(), texts.size());
  int pass = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = tok.encode(texts[i], {.add_special = false, .parse_special = false});
    EXPECT_EQ(ids_str(got), ids_str(want[i])) << c.name << " case " << i << ": '" << texts[i] << "'";
    pass += got == want[i];
  }
  EXPECT_EQ(pass, 46) << c.name;
}

TEST_P(VocabRef, DecodeRoundTrip) {
  const VocabCase& c = GetParam();
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const std::string vocab = (dir / c.vocab).string(), vec = (dir / c.vectors).string();
  if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "vocabulary " << c.vocab << " absent";
  if (!c.lossless) GTEST_SKIP() << c.name << " is lossy (lowercases, drops whitespace)";
  const Tokenizer& tok = cached(vocab);
  for (const std::string& text : read_inp(vec + ".inp")) {
    const auto ids = tok.encode(text, {.add_special = true, .parse_special = false});
    EXPECT_EQ(tok.decode(ids), text) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(All, VocabRef, ::testing::ValuesIn(kCases), [](const auto& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!isalnum(uint8_t(ch))) ch = '_';
  return n;
});

// BERT decodes to the lowercased, whitespace-normalised text.
TEST(VocabRefBert, DecodeGivesNormalisedText) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/llamacpp-vocab/ggml-vocab-bert-bge.gguf");
  const Tokenizer& tok = cached(dir.string());
  const auto ids = tok.encode("Hello  World, it's   fine");
  EXPECT_EQ(ids.front(), tok.bos());
  EXPECT_EQ(ids.back(), tok.eos());
  EXPECT_EQ(tok.decode(ids), "hello world , it ' s fine");
}

}  // namespace
}  // namespace slm::tok
