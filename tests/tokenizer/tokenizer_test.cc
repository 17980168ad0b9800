// Tokenizer behaviour on small hand-built vocabularies: merge order, byte fallback, added and special
// tokens, BOS/EOS, decoding, streaming, and rejection of malformed input.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "common/testdata.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "tokenizer/unicode.h"

namespace slm::tok {
namespace {

constexpr const char* kSp = "\xE2\x96\x81";  // U+2581

// <unk> <s> </s> <0x00>..<0xFF> then the pieces.
TokenizerSpec spm_spec() {
  TokenizerSpec s;
  s.kind = ModelKind::spm;
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {TokenType::unknown, TokenType::control, TokenType::control};
  for (int b = 0; b < 256; ++b) {
    s.tokens.push_back(fmt::format("<0x{:02X}>", b));
    s.types.push_back(TokenType::byte);
  }
  for (const char* t : {kSp, "a", "b", "c", "ab", "\xE2\x96\x81" "ab", "bc", "<tool>"}) {
    s.tokens.push_back(t);
    s.types.push_back(TokenType::normal);
  }
  s.types.back() = TokenType::user_defined;
  s.scores.assign(s.tokens.size(), 0.0f);
  s.scores[259 + 4] = -2;  // ab
  s.scores[259 + 5] = -1;  // ▁ab
  s.scores[259 + 6] = -3;  // bc
  s.byte_fallback = true;
  s.normalizers = {{NormStep::Kind::prepend, " ", ""}, {NormStep::Kind::replace, " ", kSp}};
  s.decode_strip_space = true;
  s.bos = 1, s.eos = 2, s.unk = 0;
  s.add_bos = true;
  s.added = {{1, "<s>", true}, {2, "</s>", true}, {266, "<tool>", false}};
  return s;
}
constexpr TokenId kSpace = 259, kA = 260, kB = 261, kC = 262, kAB = 263, kSpAB = 264, kBC = 265, kTool = 266;

TEST(Spm, MergesByScoreThenFallsBackToBytes) {
  const Tokenizer tok(spm_spec());
  EXPECT_EQ(tok.encode("ab", {.add_special = false}), (std::vector<TokenId>{kSpAB}));
  // "abc": ab (-2) beats bc (-3); then ▁+ab (-1).
  EXPECT_EQ(tok.encode("abc", {.add_special = false}), (std::vector<TokenId>{kSpAB, kC}));
  EXPECT_EQ(tok.encode("bc", {.add_special = false}), (std::vector<TokenId>{kSpace, kBC}));
  // é is not in the vocabulary: its two UTF-8 bytes.
  EXPECT_EQ(tok.encode("é", {.add_special = false}), (std::vector<TokenId>{kSpace, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.encode("", {.add_special = false}), std::vector<TokenId>{});
}

TEST(Spm, BosEosAndSpecialTokensOnlyWhenAsked) {
  TokenizerSpec s = spm_spec();
  s.add_eos = true;
  const Tokenizer tok(std::move(s));
  EXPECT_EQ(tok.encode("ab"), (std::vector<TokenId>{1, kSpAB, 2}));
  EXPECT_EQ(tok.encode(""), (std::vector<TokenId>{1, 2}));
  const auto plain = tok.encode("<s>ab", {.add_special = false});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0) << "special token matched without parse_special";
  EXPECT_EQ(tok.encode("<s>ab", {.add_special = false, .parse_special = true}), (std::vector<TokenId>{1, kSpAB}));
  // User-defined tokens are always recognised.
  EXPECT_EQ(tok.encode("ab<tool>ab", {.add_special = false}), (std::vector<TokenId>{kSpAB, kTool, kSpAB}));
}

TEST(Spm, DecodeResolvesBytesAndSpaceMarker) {
  const Tokenizer tok(spm_spec());
  for (const char* text : {"ab abc", " ab", "é\nb", "a  b", "", "a<tool>"}) {
    EXPECT_EQ(tok.decode(tok.encode(text)), text) << text;
  }
  EXPECT_EQ(tok.token_to_piece(3 + 0x0A), "\n");
  EXPECT_EQ(tok.token_to_piece(kSpAB), " ab");
  EXPECT_EQ(tok.token_to_piece(1), "");
  EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
  EXPECT_EQ(tok.decode(std::vector<TokenId>{1, kSpAB}, {.special = true}), "<s> ab");
  EXPECT_THROW(tok.token_to_piece(-1), Error);
  EXPECT_THROW(tok.token_to_piece(tok.n_vocab()), Error);
}

// Byte-level BPE: the 256 alphabet characters, then ab, abc, bc.
TokenizerSpec bpe_spec() {
  TokenizerSpec s;
  s.kind = ModelKind::bpe;
  s.byte_level = true;
  for (int b = 0; b < 256; ++b) s.tokens.push_back(byte_to_unicode()[b]);
  s.tokens.insert(s.tokens.end(), {"ab", "abc", "bc", "\xC4\xA0" "a", "<|end|>"});
  s.merges = {{"b", "c"}, {"a", "b"}, {"ab", "c"}, {"\xC4\xA0", "a"}};
  s.pre_steps = {PreStep{.kind = PreStep::Kind::split, .pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?"
                                                                     "[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}};
  s.types.assign(s.tokens.size(), TokenType::normal);
  s.types.back() = TokenType::control;
  s.added = {{260, "<|end|>", true}};
  s.eos = 260;
  return s;
}

TEST(Bpe, MergesByRankLeftmostFirst) {
  const Tokenizer tok(bpe_spec());
  // (b,c) has rank 0, so "abc" becomes a + bc, never ab + c.
  EXPECT_EQ(tok.encode("abc"), (std::vector<TokenId>{'a', 258}));
  EXPECT_EQ(tok.encode("ab"), (std::vector<TokenId>{256}));
  EXPECT_EQ(tok.encode(" a"), (std::vector<TokenId>{259}));
  EXPECT_TRUE(tok.is_eog(260));
  EXPECT_EQ(tok.encode("x<|end|>", {.parse_special = true}), (std::vector<TokenId>{'x', 260}));
  EXPECT_EQ(tok.encode("x<|end|>").size(), 8u);
}

TEST(Bpe, IgnoreMergesTakesWholeWords) {
  TokenizerSpec s = bpe_spec();
  s.ignore_merges = true;
  const Tokenizer tok(std::move(s));
  EXPECT_EQ(tok.encode("abc"), (std::vector<TokenId>{257}));
}

TEST(Bpe, InvalidUtf8IsReplacedNotRead) {
  const Tokenizer tok(bpe_spec());
  const auto ids = tok.encode(std::string("a\xFF\xC3", 3));
  EXPECT_EQ(tok.decode(ids), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(IncrementalDecoder, NeverEmitsHalfACharacter) {
  const Tokenizer tok(bpe_spec());
  const std::string text = "é🙂 ab日本";
  const auto ids = tok.encode(text);  // mostly single-byte tokens
  ASSERT_GT(ids.size(), 8u);
  IncrementalDecoder dec(tok);
  std::string all;
  for (TokenId id : ids) {
    const std::string part = dec.push(id);
    EXPECT_TRUE(utf8_valid(part)) << "partial character emitted";
    all += part;
  }
  all += dec.flush();
  EXPECT_EQ(all, text);
  IncrementalDecoder bad(tok);
  EXPECT_EQ(bad.push(0xC3), "");
  EXPECT_EQ(bad.push('a'), "\xEF\xBF\xBD" "a");  // a lead byte that never completes
  EXPECT_EQ(bad.push(0xE2), "");
  EXPECT_EQ(bad.flush(), "\xEF\xBF\xBD");
}

TEST(IncrementalDecoder, StripsTheDummyPrefixOnce) {
  const Tokenizer tok(spm_spec());
  IncrementalDecoder dec(tok);
  std::string all;
  for (TokenId id : tok.encode("ab ab")) all += dec.push(id);
  EXPECT_EQ(all + dec.flush(), "ab ab");
}

TEST(WordPiece, GreedyLongestMatchWithUnknownWords) {
  TokenizerSpec s;
  s.kind = ModelKind::wordpiece;
  s.tokens = {"[UNK]", "[CLS]", "[SEP]", "\xE2\x96\x81hello", "\xE2\x96\x81hel", "lo", "\xE2\x96\x81,",
              "\xE2\x96\x81world", "s"};
  s.types = {TokenType::control, TokenType::control, TokenType::control, TokenType::normal, TokenType::normal,
             TokenType::normal, TokenType::normal, TokenType::normal, TokenType::normal};
  s.normalizers = {{NormStep::Kind::fold_to_base, "", ""}, {NormStep::Kind::bert_clean, "", ""},
                   {NormStep::Kind::lowercase, "", ""}};
  s.pre_steps = {PreStep{.kind = PreStep::Kind::bert, .pattern = ""}};
  s.unk = 0, s.bos = 1, s.eos = 2;
  s.add_bos = s.add_eos = true;
  s.decode_strip_space = true;
  const Tokenizer tok(std::move(s));
  EXPECT_EQ(tok.encode("Hello, worlds"), (std::vector<TokenId>{1, 3, 6, 7, 8, 2}));
  EXPECT_EQ(tok.encode("helx", {.add_special = false}), (std::vector<TokenId>{0}));
  EXPECT_EQ(tok.decode(tok.encode("HELLO ,  World")), "hello , world");
}

// A vocab-only GGUF built in memory.
std::vector<uint8_t> tiny_gguf(const std::string& model, bool with_tokens = true) {
  gguf::Writer w;
  auto strs = [](std::vector<std::string> v) {
    gguf::Array a{gguf::ValueType::string, {}};
    for (auto& s : v) a.items.push_back(gguf::Value{std::move(s)});
    return gguf::Value{std::move(a)};
  };
  w.add_kv("tokenizer.ggml.model", gguf::Value{model});
  if (with_tokens) w.add_kv("tokenizer.ggml.tokens", strs({"<unk>", "<s>", "</s>", kSp, "h", "i", "hi", "\xE2\x96\x81hi"}));
  gguf::Array scores{gguf::ValueType::f32, {}}, types{gguf::ValueType::i32, {}};
  for (float f : {0.f, 0.f, 0.f, -1.f, -2.f, -3.f, -0.7f, -0.5f}) scores.items.push_back(gguf::Value{f});
  for (int32_t t : {2, 3, 3, 1, 1, 1, 1, 1}) types.items.push_back(gguf::Value{t});
  w.add_kv("tokenizer.ggml.scores", gguf::Value{scores});
  w.add_kv("tokenizer.ggml.token_type", gguf::Value{types});
  w.add_kv("tokenizer.ggml.bos_token_id", gguf::Value{uint32_t(1)});
  w.add_kv("tokenizer.ggml.add_bos_token", gguf::Value{true});
  w.add_kv("tokenizer.chat_template", gguf::Value{std::string("{{ x }}")});
  return w.to_bytes();
}

TEST(Gguf, LoadsSpmMetadata) {
  const auto bytes = tiny_gguf("llama");
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::parse(bytes));
  EXPECT_EQ(tok.kind(), ModelKind::spm);
  EXPECT_EQ(tok.encode("hi"), (std::vector<TokenId>{1, 7}));
  EXPECT_EQ(tok.chat_template(), "{{ x }}");
  EXPECT_EQ(tok.decode(tok.encode("hi hi")), "hi hi");
}

TEST(Gguf, RejectsMissingOrUnknownData) {
  EXPECT_THROW(Tokenizer::from_gguf(gguf::File::parse(tiny_gguf("llama", false))), Error);
  EXPECT_THROW(Tokenizer::from_gguf(gguf::File::parse(tiny_gguf("t5"))), Error);
}

TEST(HfJson, ByteLevelWithTemplateAndAddedTokens) {
  const std::string json = R"({
    "added_tokens": [{"id": 5, "content": "<bos>", "special": true},
                     {"id": 6, "content": "<tool>", "special": false, "lstrip": true, "rstrip": true}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}},
                       {"Sequence": {"id": "A"}}], "special_tokens": {"<bos>": {"ids": [5]}}},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120ab": 4},
              "merges": ["a b", "\u0120 ab"]}})";
  const Tokenizer tok = Tokenizer::from_hf_json(json);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_EQ(tok.encode("ab ab"), (std::vector<TokenId>{5, 3, 4}));
  EXPECT_EQ(tok.encode("ab <tool> ab", {.add_special = false}), (std::vector<TokenId>{3, 6, 3}));
  EXPECT_EQ(tok.encode("<bos>ab", {.add_special = false, .parse_special = true}), (std::vector<TokenId>{5, 3}));
  EXPECT_EQ(tok.decode(std::vector<TokenId>{3, 4}), "ab ab");
}

// A TemplateProcessing whose special_tokens entry is missing, has no "ids", or is not an object: the token
// is looked up by its name in the vocabulary instead (found by the tokenizer_fuzz target: reading the
// missing entry was undefined behaviour).
TEST(HfJson, TemplateProcessingWithoutIdsFallsBackToTheVocabulary) {
  for (const char* entry : {R"("special_tokens": {"<bos>": {"i]s": [5]}})", R"("special_tokens": {"<bos>": 5})",
                            R"("special_tokens": {"<eos>": {"ids": [6]}})", R"("special_tokens": [])"}) {
    const std::string json = std::string(R"({
      "added_tokens": [{"id": 5, "content": "<bos>", "special": true}],
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
      "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}},
                         {"Sequence": {"id": "A"}}], )") + entry + R"(},
      "decoder": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 3}, "merges": ["a b"]}})";
    const Tokenizer tok = Tokenizer::from_hf_json(json);
    EXPECT_TRUE(tok.add_bos()) << entry;
    EXPECT_EQ(tok.encode("ab"), (std::vector<TokenId>{5, 3})) << entry;
  }
}

// A SentencePiece-style vocabulary with a token whose U+2581 starts at byte 1 or 2 ("a\u2581"): the
// word-boundary scan read before the token's start (std::out_of_range, found by the tokenizer_fuzz target).
TEST(HfJson, SpaceMarkerNearTheStartOfAToken) {
  const Tokenizer tok = Tokenizer::from_hf_json(R"({"pre_tokenizer": null,
      "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
      "decoder": {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
      "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                "vocab": {"<unk>": 0, "a": 1, "\u2581": 2, "a\u2581": 3, "ab\u2581": 4}, "merges": [["a", "\u2581"]]}})");
  EXPECT_EQ(tok.encode("a a", {.add_special = false}), (std::vector<TokenId>{3, 1}));
}

TEST(HfJson, RejectsMalformedDocuments) {
  EXPECT_THROW(Tokenizer::from_hf_json("{"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json("{}"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "Unigram", "vocab": []}})"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}})"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}})"),
               Error);
}

// Ids that are not JSON integers in [0, 2^24) are errors naming the value, not conversions (a float or an
// out-of-range number through get<int>() was undefined behaviour, found by the tokenizer_fuzz target).
TEST(HfJson, RejectsIdsThatAreNotTokenIds) {
  const auto doc = [](const std::string& vocab_id, const std::string& added_id, const std::string& unk_id) {
    return R"({"added_tokens": [{"id": )" + added_id + R"(, "content": "<x>"}],
      "model": {"type": "BPE", "unk_token": "<unk>", "vocab": {"a": )" + vocab_id + R"(, "<unk>": )" + unk_id +
           R"(}, "merges": []}})";
  };
  EXPECT_NO_THROW(Tokenizer::from_hf_json(doc("0", "2", "1")));
  for (const std::string bad : {"1e100", "1.5", "-1", "16777216", "18446744073709551615", "\"0\"", "null"}) {
    for (const std::string& json : {doc(bad, "2", "1"), doc("0", bad, "1"), doc("0", "2", bad)}) {
      try {
        Tokenizer::from_hf_json(json);
        ADD_FAILURE() << "accepted id " << bad;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("must be a token id"), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": [0, 1], "merges": []}})"), Error);
}

// A vocabulary whose ids are far from dense (one token at id 2^24 - 1) is refused before the empty
// entries are made: it cost 33 s and 3.5 GB (found by the tokenizer_fuzz target). Padding holes of real
// files (a few hundred ids past the vocabulary) still load.
TEST(HfJson, RejectsSparseIds) {
  const auto doc = [](int vocab_id, int added_id) {
    return R"({"added_tokens": [{"id": )" + std::to_string(added_id) + R"(, "content": "<x>", "special": true}],
      "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": )" + std::to_string(vocab_id) + "}}}";
  };
  EXPECT_EQ(Tokenizer::from_hf_json(doc(1, 600)).n_vocab(), 601);
  for (const auto& [v, a] : {std::pair{16777215, 2}, std::pair{1, 16777215}, std::pair{5000, 2}}) {
    try {
      Tokenizer::from_hf_json(doc(v, a));
      ADD_FAILURE() << v << " " << a;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("must be (nearly) dense"), std::string::npos) << e.what();
    }
  }
}

TEST(NativeFiles, RejectMalformedFiles) {
  slm::testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(dir.file(name), std::ios::binary) << data;
    return dir.file(name);
  };
  EXPECT_THROW(Tokenizer::from_spm_model(write("a.model", std::string("\x0a\xff\xff\xff\xff\x0f", 6))), Error);
  EXPECT_THROW(Tokenizer::from_spm_model(write("b.model", "")), Error);
  EXPECT_THROW(Tokenizer::from_tiktoken(write("c.tiktoken", "YQ== notanumber\n!!! 1\n"), "qwen2"), Error);
  EXPECT_THROW(Tokenizer::from_tiktoken(write("d.tiktoken", "YQ== 0\n"), "no-such-pre"), Error);
  EXPECT_THROW(Tokenizer::load(dir.file("missing.json")), Error);
  EXPECT_THROW(Tokenizer::load(write("e.bin", "????")), Error);
  const std::string merges = write("vocab.bpe", "#version: 0.2\n");
  for (const char* enc : {R"({"a": 1.5})", R"({"a": 1e100})", R"({"a": -1})", R"(["a"])"})
    EXPECT_THROW(Tokenizer::from_gpt2_files(write("encoder.json", enc), merges, "gpt2"), Error) << enc;
}

TEST(HfJson, WordPieceWithBertNormalizer) {
  const std::string json = R"({
    "added_tokens": [{"id": 0, "content": "[UNK]", "special": true}, {"id": 1, "content": "[CLS]", "special": true},
                     {"id": 2, "content": "[SEP]", "special": true}],
    "normalizer": {"type": "BertNormalizer", "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
    "decoder": {"type": "WordPiece", "prefix": "##"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "cafe": 3, "##s": 4, "!": 5, "big": 6}}})";
  const Tokenizer tok = Tokenizer::from_hf_json(json);
  EXPECT_EQ(tok.encode("Big Cafés!"), (std::vector<TokenId>{1, 6, 3, 4, 5, 2}));
  EXPECT_EQ(tok.encode("unknown", {.add_special = false}), (std::vector<TokenId>{0}));
  EXPECT_EQ(tok.decode(tok.encode("Big Cafés!")), "big cafes !");
}

// Random bytes through every model kind and the decoders: no crash, valid output, ids in range.
TEST(Robustness, RandomBytesNeverBreakEncodeOrDecode) {
  Rng rng(11);
  std::vector<Tokenizer> toks = {Tokenizer(spm_spec()), Tokenizer(bpe_spec())};
  for (const Tokenizer& tok : toks) {
    for (int iter = 0; iter < 300; ++iter) {
      std::string text(rng.next_u64() % 64, '\0');
      for (char& c : text) c = char(rng.next_u64() % 4 == 0 ? 0x80 + rng.next_u64() % 128 : 0x20 + rng.next_u64() % 96);
      const auto ids = tok.encode(text, {.add_special = true, .parse_special = iter % 2 == 0});
      for (TokenId id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab());
      IncrementalDecoder dec(tok);
      std::string streamed;
      for (TokenId id : ids) streamed += dec.push(id);
      streamed += dec.flush();
      EXPECT_TRUE(utf8_valid(streamed));
      EXPECT_EQ(streamed, utf8_sanitize(tok.decode(ids)));
    }
  }
}

TEST(Robustness, HostileJsonIdsAreRejected) {
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 4000000000}, "merges": []}})"),
               Error);
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "added_tokens": [{"id": 99999999999, "content": "x"}]})"), Error);
}

TEST(Spec, RejectsInconsistentVocabularies) {
  TokenizerSpec s = spm_spec();
  s.scores.pop_back();
  EXPECT_THROW(Tokenizer{s}, Error);
  s = spm_spec();
  s.bos = 100000;
  EXPECT_THROW(Tokenizer{s}, Error);
  s = spm_spec();
  s.added.push_back({-3, "x", true});
  EXPECT_THROW(Tokenizer{s}, Error);
  EXPECT_THROW(Tokenizer{TokenizerSpec{}}, Error);
}

}  // namespace
}  // namespace slm::tok
