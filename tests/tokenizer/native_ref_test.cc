// The Llama 3, Qwen, SmolLM2 and Llama 2 vectors, from each model's native tokenizer files and from GGUF.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "io/gguf.h"
#include "tok_test_util.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {
namespace {

using namespace slm::tok::testing;
using nlohmann::json;

std::string b64decode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
          : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (v < 0) break;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) bits -= 8, out += char((acc >> bits) & 0xFF);
  }
  return out;
}

// Checks every case; `text`/`ids` name the JSON fields.
void check_cases(const Tokenizer& tok, const json& cases, const char* label, EncodeOptions opt, bool base64 = false,
                 const char* text_key = "text", const char* ids_key = "ids") {
  int pass = 0;
  for (const json& c : cases) {
    const std::string text = base64 ? b64decode(c.at("base64").get<std::string>()) : c.at(text_key).get<std::string>();
    const auto want = c.at(ids_key).get<std::vector<TokenId>>();
    const auto got = tok.encode(text, opt);
    EXPECT_EQ(ids_str(got), ids_str(want)) << label << ": '" << text << "'";
    pass += got == want;
    if (!opt.parse_special) EXPECT_EQ(tok.decode(got), text) << label;
  }
  EXPECT_EQ(pass, int(cases.size())) << label;
}

TEST(NativeRef, Llama3FromEncoderJsonAndVocabBpe) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/llama3-bpe");
  const Tokenizer tok = Tokenizer::from_gpt2_files((dir / "encoder.json").string(), (dir / "vocab.bpe").string(),
                                                   "llama-bpe");
  EXPECT_EQ(tok.n_vocab(), 128000);
  check_cases(tok, json::parse(read_all((dir / "inputs.json").string())), "llama3 native",
              {.add_special = false}, true);
}

TEST(NativeRef, Llama3FromGguf) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const Tokenizer tok = Tokenizer::load((dir / "gguf/llama-bpe.gguf").string());
  EXPECT_EQ(tok.n_vocab(), 128256);
  EXPECT_EQ(tok.bos(), 128000);
  EXPECT_TRUE(tok.is_eog(128009));
  check_cases(tok, json::parse(read_all((dir / "llama3-bpe/inputs.json").string())), "llama3 gguf",
              {.add_special = false}, true);
  const auto ids = tok.encode("Hello");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 128000);  // add_bos_token
}

const std::vector<std::string> kQwenSpecials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

TEST(NativeRef, QwenFromTiktoken) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/qwen");
  const Tokenizer tok = Tokenizer::from_tiktoken((dir / "qwen.tiktoken").string(), "qwen2", kQwenSpecials);
  EXPECT_EQ(tok.find_token("<|im_start|>"), 151644);
  check_cases(tok, json::parse(read_all((dir / "golden_tokens_subset.json").string())), "qwen tiktoken",
              {.add_special = false, .parse_special = true});
  // The llama.cpp vectors too (46 cases).
  SLM_REQUIRE_TESTDATA(vec, "tokenizers/llamacpp-vocab/ggml-vocab-qwen2.gguf.inp");
  const auto texts = read_inp(vec.string());
  const auto want = read_out((dir / "../llamacpp-vocab/ggml-vocab-qwen2.gguf.out").string());
  ASSERT_EQ(texts.size(), want.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(ids_str(tok.encode(texts[i], {.add_special = false})), ids_str(want[i])) << "case " << i;
}

TEST(NativeRef, QwenFromGguf) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const Tokenizer tok = Tokenizer::load((dir / "gguf/qwen2.gguf").string());
  EXPECT_EQ(tok.eos(), 151645);
  EXPECT_FALSE(tok.add_bos());
  check_cases(tok, json::parse(read_all((dir / "qwen/golden_tokens_subset.json").string())), "qwen gguf",
              {.add_special = false, .parse_special = true});
  // Without parse_special the same text is plain text.
  const auto plain = tok.encode("<|im_start|>", {.add_special = false});
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok.decode(plain), "<|im_start|>");
}

TEST(NativeRef, SmolLM2FromTokenizerJsonAndGguf) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const json ref = json::parse(read_all((dir / "smollm2-135m/reference_cpldcpu_smollm.c.json").string()));
  const Tokenizer hf = Tokenizer::from_hf_file((dir / "smollm2-135m/tokenizer.json").string());
  const Tokenizer gg = Tokenizer::load((dir / "gguf/smollm.gguf").string());
  EXPECT_EQ(hf.n_vocab(), 49152);
  check_cases(hf, ref.at("prompts"), "smollm2 tokenizer.json", {.add_special = false}, false, "text", "input_ids");
  check_cases(gg, ref.at("prompts"), "smollm2 gguf", {.add_special = false}, false, "text", "input_ids");
  // Both loaders agree on llama.cpp's 46 texts.
  const auto texts = read_inp((dir / "gguf/smollm.gguf.inp").string());
  const auto want = read_out((dir / "gguf/smollm.gguf.out").string());
  ASSERT_EQ(texts.size(), want.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(ids_str(hf.encode(texts[i], {.add_special = false})), ids_str(want[i])) << "case " << i;
}

TEST(NativeRef, Llama2FromSentencePieceModel) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers");
  const Tokenizer tok = Tokenizer::from_spm_model((dir / "llama2-spm/tokenizer.model").string());
  EXPECT_EQ(tok.n_vocab(), 32000);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.unk(), 0);
  EXPECT_EQ(tok.token_type(13), TokenType::byte);  // <0x0A>
  const json v = json::parse(read_all((dir / "llama2-spm/encode_test_vectors.json").string()));
  check_cases(tok, v.at("cases"), "llama2 tokenizer.model", {.add_special = true});
  // The same vocabulary through llama.cpp's 46 vectors.
  const auto texts = read_inp((dir / "llamacpp-vocab/ggml-vocab-llama-spm.gguf.inp").string());
  const auto want = read_out((dir / "llamacpp-vocab/ggml-vocab-llama-spm.gguf.out").string());
  ASSERT_EQ(texts.size(), want.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok.encode(texts[i], {.add_special = false});
    EXPECT_EQ(ids_str(ids), ids_str(want[i])) << "case " << i;
    EXPECT_EQ(tok.decode(ids), texts[i]);
  }
}

}  // namespace
}  // namespace slm::tok
