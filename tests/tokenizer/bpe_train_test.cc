// Byte-level BPE training: hand-computed first merges, byte-exact round trips on held-out text, determinism,
// the tokenizer.json and GGUF forms encoding alike, and bad input.
#include <gtest/gtest.h>

#include <fstream>

#include "common/testdata.h"
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {
namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

BpeTrainOptions bare(int vocab_size, int64_t min_frequency) {
  BpeTrainOptions o;
  o.vocab_size = vocab_size;
  o.min_frequency = min_frequency;
  o.specials = {};
  o.bos = o.eos = o.pad = "";
  return o;
}

BpeVocab train_on(const std::string& text, BpeTrainOptions o) {
  BpeTrainer t(std::move(o));
  t.add_text(text);
  return t.train();
}

Tokenizer json_tok(const BpeVocab& v) { return Tokenizer::from_hf_json(bpe_hf_tokenizer_json(v), bpe_hf_config_json(v)); }

struct GgufTok {
  std::vector<uint8_t> bytes;
  gguf::File file;
  Tokenizer tok;
  explicit GgufTok(const BpeVocab& v)
      : bytes(bpe_gguf_vocab(v).to_bytes()), file(gguf::File::parse(bytes)), tok(Tokenizer::from_gguf(file)) {}
};

// A small mixed corpus: English prose, accented and CJK words, code, numbers.
std::string corpus() {
  const char* lines[] = {
      "The quick brown fox jumps over the lazy dog, and the dog sleeps on.",
      "A tokenizer splits text into pieces; the pieces become numbers.",
      "Café au lait, naïve façade, jalapeño: déjà vu in the città.",
      "東京は日本の首都です。日本語の文章もあります。",
      "for (int i = 0; i < n; ++i) { total += values[i]; }",
      "In 1969, 3 people flew 384400 km; 2.5 million watched.",
      "She said: \"it's fine, we'll see, they're here, I'm done.\"",
  };
  std::string s;
  for (int rep = 0; rep < 20; ++rep)
    for (const char* l : lines) s += std::string(l) + (rep % 3 ? "\n" : "  \n\n");
  return s;
}

// Texts the corpus never saw: emoji (with joiners and modifiers), unseen scripts, whitespace runs.
const std::vector<std::string>& held_out() {
  static const std::vector<std::string> t = {
      "",
      " ",
      "Hello, world!",
      "👍🏽 family: 👨‍👩‍👧‍👦 and flags 🇳🇴🇯🇵",
      "Привет, мир! Γειά σου κόσμε. שלום עולם. مرحبا",
      "a  \t\t b\n\n\n   c   ",
      "line one\r\nline two\r\n\r\n",
      "   leading and trailing   ",
      "tabs\tand\u00a0no-break\u2003em space",
      "numbers 12345678 3.14159 -0.5e10",
      "<|im_start|>user\nnot parsed as special<|im_end|>",
      "\x01\x02 control \x7f bytes",
  };
  return t;
}

TEST(BpeTrain, FirstMergesOnOneWordAreHandComputed) {
  // a a a b d a a a b a c: (a,a) is seen 4 times; then (a,b) and (aa,a) both twice: (a,b) sorts first.
  const BpeVocab v = train_on("aaabdaaabac", bare(400, 1));
  const Merges want = {{"a", "a"}, {"a", "b"}, {"aa", "ab"}, {"a", "c"}, {"aaab", "ac"}, {"aaab", "d"},
                       {"aaabd", "aaabac"}};
  EXPECT_EQ(v.merges, want);
  EXPECT_EQ(v.tokens.size(), 256u + 7u);  // no pair left after the whole word is one token
  EXPECT_EQ(v.tokens['a'], "a");  // no specials: byte b is token b
  EXPECT_EQ(v.tokens.back(), "aaabdaaabac");
}

TEST(BpeTrain, FirstMergesWithSpacesAndMinFrequency) {
  // Words (GPT-2 split): hug x1, " hug" x2, " pug" x2, " bun" x1. (u,g) 5; (h,ug) 3; then ties at 2 go to
  // the smaller raw bytes: " hug" < " p" < "pug"; pairs seen once are below min frequency 2.
  const BpeVocab v = train_on("hug hug hug pug pug bun", bare(1000, 2));
  const Merges want = {{"u", "g"}, {"h", "ug"}, {"\xC4\xA0", "hug"}, {"\xC4\xA0", "p"}, {"\xC4\xA0p", "ug"}};
  EXPECT_EQ(v.merges, want);
}

TEST(BpeTrain, StopsAtTheVocabularySize) {
  const BpeVocab v = train_on(corpus(), [] {
    BpeTrainOptions o;
    o.vocab_size = 300;
    return o;
  }());
  EXPECT_EQ(v.tokens.size(), 300u);
  EXPECT_EQ(v.n_special, 5);
  EXPECT_EQ(v.tokens[0], "<|begin_of_text|>");
  EXPECT_EQ(v.bos, 0);
  EXPECT_EQ(v.eos, 1);
  EXPECT_EQ(v.pad, 2);
  EXPECT_EQ(v.merges.size(), 300u - 5u - 256u);
}

TEST(BpeTrain, RoundTripsHeldOutTextByteExactly) {
  for (const std::string pre : {"gpt2", "llama3", "qwen2"}) {
    BpeTrainOptions o;
    o.vocab_size = 700;
    o.pre = pre;
    const BpeVocab v = train_on(corpus(), o);
    const Tokenizer tj = json_tok(v);
    const GgufTok tg(v);
    for (const std::string& text : held_out()) {
      for (const Tokenizer* t : {&tj, &tg.tok}) {
        const std::vector<TokenId> ids = t->encode(text);
        ASSERT_FALSE(ids.empty());
        EXPECT_EQ(ids[0], v.bos) << pre;
        EXPECT_EQ(t->decode(ids), text) << pre << ": '" << text << "'";
        std::string pieces;
        for (size_t i = 1; i < ids.size(); ++i) pieces += t->token_to_piece(ids[i]);
        EXPECT_EQ(pieces, text) << pre;
      }
    }
    // The corpus itself compresses: merges were learned.
    const std::string seen = "The quick brown fox jumps over the lazy dog";
    EXPECT_LT(tj.encode(seen, {.add_special = false}).size(), seen.size() / 2) << pre;
  }
}

TEST(BpeTrain, JsonAndGgufEncodeIdentically) {
  for (const std::string pre : {"gpt2", "llama3", "qwen2"}) {
    BpeTrainOptions o;
    o.vocab_size = 900;
    o.pre = pre;
    const BpeVocab v = train_on(corpus(), o);
    const Tokenizer tj = json_tok(v);
    const GgufTok tg(v);
    EXPECT_EQ(tj.n_vocab(), tg.tok.n_vocab());
    EXPECT_EQ(tj.bos(), tg.tok.bos());
    EXPECT_EQ(tj.eos(), tg.tok.eos());
    EXPECT_EQ(tj.pad(), tg.tok.pad());
    EXPECT_EQ(tj.eot(), tg.tok.eot());
    EXPECT_EQ(tj.eot(), tj.find_token("<|im_end|>"));
    EXPECT_TRUE(tj.add_bos() && tg.tok.add_bos());
    EXPECT_EQ(tj.chat_template(), tg.tok.chat_template());
    EXPECT_NE(tj.chat_template().find("<|im_start|>"), std::string::npos);
    std::vector<std::string> texts = held_out();
    texts.push_back(corpus());
    for (const std::string& text : texts)
      for (const bool special : {false, true}) {
        const EncodeOptions eo{.add_special = special, .parse_special = special};
        EXPECT_EQ(tj.encode(text, eo), tg.tok.encode(text, eo)) << pre << ": '" << text << "'";
      }
    // Special tokens are single ids only when parsed as special.
    const std::vector<TokenId> ids = tg.tok.encode("<|im_start|>hi<|im_end|>", {.add_special = false, .parse_special = true});
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(ids.front(), 3);
    EXPECT_EQ(ids.back(), 4);
  }
}

TEST(BpeTrain, FilesLoadThroughFromHfFileAndLoad) {
  const BpeVocab v = train_on(corpus(), [] {
    BpeTrainOptions o;
    o.vocab_size = 500;
    return o;
  }());
  slm::testing::TempDir tmp;
  std::ofstream(tmp.file("tokenizer.json"), std::ios::binary) << bpe_hf_tokenizer_json(v);
  std::ofstream(tmp.file("tokenizer_config.json"), std::ios::binary) << bpe_hf_config_json(v);
  bpe_gguf_vocab(v).write(tmp.file("vocab.gguf"));
  const Tokenizer a = Tokenizer::from_hf_file(tmp.file("tokenizer.json"));
  const Tokenizer b = Tokenizer::load(tmp.file("vocab.gguf"));
  EXPECT_EQ(a.bos(), 0);
  EXPECT_EQ(a.eos(), 1);
  EXPECT_FALSE(a.chat_template().empty());
  EXPECT_EQ(a.encode(corpus()), b.encode(corpus()));
}

TEST(BpeTrain, DeterministicOutput) {
  BpeTrainOptions o;
  o.vocab_size = 800;
  const BpeVocab v1 = train_on(corpus(), o), v2 = train_on(corpus(), o);
  EXPECT_EQ(bpe_hf_tokenizer_json(v1), bpe_hf_tokenizer_json(v2));
  EXPECT_EQ(bpe_gguf_vocab(v1).to_bytes(), bpe_gguf_vocab(v2).to_bytes());
  // A file read in blocks counts the same words as the text given at once.
  slm::testing::TempDir tmp;
  std::ofstream(tmp.file("c.txt"), std::ios::binary) << corpus();
  BpeTrainer t(o);
  t.add_file(tmp.file("c.txt"));
  EXPECT_EQ(bpe_hf_tokenizer_json(t.train()), bpe_hf_tokenizer_json(v1));
}

TEST(BpeTrain, SpecialTextsInTheCorpusAreNotLearned) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "<|im_start|>user hello<|im_end|>";
  BpeTrainOptions o;
  o.vocab_size = 400;
  const BpeVocab v = train_on(text, o);
  for (size_t id = size_t(v.n_special); id < v.tokens.size(); ++id)
    EXPECT_EQ(v.tokens[id].find("im_"), std::string::npos) << v.tokens[id];
}

TEST(BpeTrain, JsonlFieldAndMinFrequency) {
  slm::testing::TempDir tmp;
  std::ofstream(tmp.file("c.jsonl")) << "{\"text\": \"abab abab\"}\n\n{\"text\": \"xyz\", \"other\": 1}\n";
  BpeTrainer t(bare(300, 2));
  t.add_file(tmp.file("c.jsonl"), "text");
  EXPECT_EQ(t.stats().distinct, 3u);  // "abab", " abab", "xyz"
  const BpeVocab v = t.train();
  // (a,b) 4, then (ab,ab) 2; the pairs of " abab"'s space and of xyz are seen once.
  const Merges want = {{"a", "b"}, {"ab", "ab"}};
  EXPECT_EQ(v.merges, want);
}

TEST(BpeTrain, BadInputThrows) {
  auto msg = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg([] { BpeTrainer t(bare(200, 1)); }).find("below 256 byte tokens"), std::string::npos);
  BpeTrainOptions o;
  o.vocab_size = 260;  // 256 + 5 specials = 261
  EXPECT_NE(msg([&] { BpeTrainer t(o); }).find("= 261"), std::string::npos);
  EXPECT_NE(msg([] { BpeTrainer(bare(300, 1)).train(); }).find("empty corpus"), std::string::npos);
  EXPECT_NE(msg([] {
              BpeTrainer t(bare(300, 1));
              t.add_text("");
              t.train();
            }).find("empty corpus"),
            std::string::npos);
  EXPECT_NE(msg([] { BpeTrainer(bare(300, 1)).add_file("/nonexistent/corpus.txt"); }).find("cannot open"),
            std::string::npos);
  o = bare(300, 1);
  o.pre = "nope";
  EXPECT_NE(msg([&] { BpeTrainer t(o); }).find("unknown pre-tokenizer"), std::string::npos);
  o = bare(300, 1);
  o.bos = "<s>";
  EXPECT_NE(msg([&] { BpeTrainer t(o); }).find("not among the special tokens"), std::string::npos);
  o = bare(300, 1);
  o.specials = {"<a>", "<a>"};
  EXPECT_NE(msg([&] { BpeTrainer t(o); }).find("twice"), std::string::npos);
  o.specials = {"x"};
  EXPECT_NE(msg([&] { BpeTrainer t(o); }).find("byte token"), std::string::npos);
  o.specials = {};
  o.min_frequency = 0;
  EXPECT_NE(msg([&] { BpeTrainer t(o); }).find("min frequency"), std::string::npos);
  slm::testing::TempDir tmp;
  std::ofstream(tmp.file("bad.jsonl")) << "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n";
  EXPECT_NE(msg([&] { BpeTrainer(bare(300, 1)).add_file(tmp.file("bad.jsonl"), "text"); }).find("bad.jsonl:2"),
            std::string::npos);
  std::ofstream(tmp.file("junk.jsonl")) << "{not json\n";
  EXPECT_NE(msg([&] { BpeTrainer(bare(300, 1)).add_file(tmp.file("junk.jsonl"), "text"); }).find("junk.jsonl:1"),
            std::string::npos);
}

TEST(BpeTrain, IllFormedUtf8IsCountedAsReplacementCharacters) {
  BpeTrainer t(bare(300, 1));
  t.add_text(std::string("ab\xFF\xFE cd \xC3", 9));
  const BpeVocab v = t.train();
  const Tokenizer tok = json_tok(v);
  EXPECT_EQ(tok.decode(tok.encode("ab cd")), "ab cd");
}

}  // namespace
}  // namespace slm::tok
