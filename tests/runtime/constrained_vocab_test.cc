// The vocabulary side: the adapter from the tokenizer API, the trie, input validation, and the mask
// cache under eviction and concurrent use.
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "core/rng.h"
#include "runtime/constrained/compile.h"
#include "tokenizer/tokenizer.h"

namespace slm::constrained {
namespace {

tok::TokenizerSpec spm_spec() {
  using tok::TokenType;
  tok::TokenizerSpec s;
  s.kind = tok::ModelKind::spm;
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {TokenType::unknown, TokenType::control, TokenType::control};
  for (int b = 0; b < 256; ++b) {
    s.tokens.push_back(fmt::format("<0x{:02X}>", b));
    s.types.push_back(TokenType::byte);
  }
  for (const char* t : {"\xE2\x96\x81", "{", "\xE2\x96\x81{", "}", "<tool>"}) {
    s.tokens.push_back(t);
    s.types.push_back(TokenType::normal);
  }
  s.types.back() = TokenType::user_defined;
  s.scores.assign(s.tokens.size(), 0.0f);
  s.byte_fallback = true;
  s.bos = 1, s.eos = 2, s.unk = 0;
  s.added = {{1, "<s>", true}, {2, "</s>", true}, {263, "<tool>", false}};
  return s;
}

TEST(ConstrainedVocab, FromTokenizerGivesExactBytesAndMarksControls) {
  const tok::Tokenizer t(spm_spec());
  const Vocabulary v = vocabulary_from_tokenizer(t);
  ASSERT_EQ(v.pieces.size(), size_t(t.n_vocab()));
  EXPECT_TRUE(v.special[0] && v.special[1] && v.special[2]);  // <unk> <s> </s>
  EXPECT_EQ(v.pieces[3 + 0x0A], "\n");                        // a byte token is its byte
  EXPECT_EQ(v.pieces[3 + 0xE2], "\xE2");
  EXPECT_FALSE(v.special[3 + 0xE2]);
  EXPECT_EQ(v.pieces[259], " ");   // U+2581 is a space
  EXPECT_EQ(v.pieces[261], " {");
  EXPECT_EQ(v.pieces[263], "<tool>");  // user-defined: its text
  EXPECT_FALSE(v.special[263]);
  EXPECT_NE(std::find(v.eos.begin(), v.eos.end(), 2), v.eos.end());
  // A SentencePiece model may open with "▁{": leading whitespace is allowed, and eos only at the end.
  auto index = std::make_shared<TokenIndex>(compile_json_object(), std::make_shared<VocabTrie>(v));
  Constraint c(index);
  EXPECT_TRUE(c.is_allowed(261));
  EXPECT_FALSE(c.is_allowed(2));
  EXPECT_FALSE(c.is_allowed(1));
  ASSERT_TRUE(c.advance(261));
  ASSERT_TRUE(c.advance(262));
  EXPECT_TRUE(c.advance(2));
  EXPECT_TRUE(c.finished());
}

TEST(ConstrainedVocab, BadVocabulariesThrow) {
  EXPECT_THROW(VocabTrie(Vocabulary{}), Error);
  EXPECT_THROW(VocabTrie(Vocabulary{{"a", "b"}, {0}, {}}), Error);     // flags of the wrong size
  EXPECT_THROW(VocabTrie(Vocabulary{{"a", "b"}, {}, {2}}), Error);     // eos out of range
  EXPECT_THROW(VocabTrie(Vocabulary{{"a", "b"}, {}, {-1}}), Error);
}

TEST(ConstrainedVocab, TrieListsEveryNormalTokenOnce) {
  Rng rng(2);
  Vocabulary v;
  for (int i = 0; i < 3000; ++i) {
    std::string p;
    const size_t n = rng.below(6);
    for (size_t k = 0; k < n; ++k) p += char("ab{}\"\xC3"[rng.below(6)]);
    v.pieces.push_back(p);
  }
  v.pieces.push_back("a");  // a duplicate piece keeps both ids
  const VocabTrie trie(v);
  std::vector<int> seen(v.pieces.size(), 0);
  std::vector<std::string> path(trie.max_depth() + 1);
  for (const auto& n : trie.nodes()) {
    path[n.depth] = path[n.depth - 1] + char(n.byte);
    for (uint32_t k = n.tok_begin; k < n.tok_end; ++k) {
      const int32_t id = trie.ids()[k];
      EXPECT_EQ(v.pieces[size_t(id)], path[n.depth]);
      ++seen[size_t(id)];
    }
  }
  for (size_t id = 0; id < v.pieces.size(); ++id) EXPECT_EQ(seen[id], v.pieces[id].empty() ? 0 : 1) << id;
}

// Reference mask: every token checked on its own by walking its bytes.
std::vector<uint64_t> brute_mask(Constraint& c) {
  const VocabTrie& vocab = c.index().vocab();
  std::vector<uint64_t> m(vocab.n_words(), 0);
  for (int32_t id = 0; id < vocab.n_vocab(); ++id) {
    if (c.is_allowed(id)) m[size_t(id) / 64] |= uint64_t(1) << (id % 64);
  }
  return m;
}

TEST(ConstrainedVocab, MasksStayRightUnderEvictionAndThreads) {
  Vocabulary v;
  for (int b = 0; b < 256; ++b) v.pieces.push_back(std::string(1, char(b)));
  for (const char* t : {"{\"", "\":", "tr", "ue", "12", "\"}", "null", "\\n"}) v.pieces.push_back(t);
  v.pieces.push_back("</s>");
  v.special.assign(v.pieces.size(), 0);
  v.special.back() = 1;
  v.eos = {int32_t(v.pieces.size() - 1)};
  auto trie = std::make_shared<VocabTrie>(v);
  // A cache that holds two masks: most lookups recompute after a clear.
  auto index = std::make_shared<TokenIndex>(compile_json_object(), trie, trie->n_words() * 8 * 2);
  auto run = [&](uint64_t seed, int* failures) {
    Rng rng(seed);
    for (int walk = 0; walk < 20; ++walk) {
      Constraint c(index);
      for (int step = 0; step < 40 && !c.finished(); ++step) {
        const std::vector<uint64_t> m = c.allowed();
        if (m != brute_mask(c)) ++*failures;
        std::vector<int32_t> ids;
        for (int32_t id = 0; id < trie->n_vocab(); ++id) {
          if ((m[size_t(id) / 64] >> (id % 64)) & 1) ids.push_back(id);
        }
        if (ids.empty() || !c.advance(ids[rng.below(ids.size())])) ++*failures;
      }
    }
  };
  int f1 = 0, f2 = 0;
  std::thread t1(run, 1, &f1), t2(run, 2, &f2);
  t1.join();
  t2.join();
  EXPECT_EQ(f1, 0);
  EXPECT_EQ(f2, 0);
  EXPECT_GT(index->stats().masks_computed, index->stats().masks_cached);  // the cache was cleared
}

}  // namespace
}  // namespace slm::constrained
