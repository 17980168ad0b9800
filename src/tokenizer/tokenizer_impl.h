// Tokenizer::Impl: the compiled form of a TokenizerSpec (lookup tables, merge table, compiled regexes).
// Internal to src/tokenizer.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

// (left id, right id) -> (priority rank, merged id); lower rank merges first.
class MergeTable {
 public:
  struct Entry {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    TokenId result = kNoToken;
  };
  void reserve(size_t n);
  void insert(TokenId l, TokenId r, int32_t rank, TokenId result);  // keeps the better rank on a repeat
  const Entry* find(TokenId l, TokenId r) const {
    if (slots_.empty()) return nullptr;
    const uint64_t k = key(l, r);
    for (size_t i = mix(k) & mask_;; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == k) return &e;
      if (e.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  static uint64_t key(TokenId l, TokenId r) { return (uint64_t(uint32_t(l)) << 32) | uint32_t(r); }
  static size_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return size_t(k);
  }
  void grow();
  std::vector<Entry> slots_;
  size_t mask_ = 0, size_ = 0;
};

struct Tokenizer::Impl {
  TokenizerSpec spec;
  TokenMap token_to_id;
  MergeTable merges;
  std::vector<std::string> pieces;      // decoded bytes of each token
  std::array<TokenId, 256> byte_token;  // byte-level: the alphabet char of each byte; else <0xXX>
  std::vector<SplitStep> splits;        // compiled PreStep::split steps, in order (bert steps: empty regex)
  std::vector<AddedToken> added;        // sorted by first byte, then longest first
  std::array<std::pair<uint32_t, uint32_t>, 256> added_by_byte{};  // [begin, end) into `added`
  // wordpiece
  TokenMap wp_start, wp_cont;
  size_t max_token_len = 0;
  std::array<TokenId, 128> ascii_token;  // id of each one-byte ASCII token (non-byte-level), for speed
  TokenId space_marker = kNoToken;        // id of U+2581 when it is a token
  uint64_t serial = 0;                    // distinguishes tokenizers in the per-thread piece cache
  // spm without pre-tokenizer: no token has U+2581 right after another character, so no merge can
  // cross such a boundary and words can be merged (and cached) one by one with the same result.
  bool spm_words = false;

  void compile();
  void encode_fragment(std::string_view text, bool first, std::vector<TokenId>& out) const;
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;
  void encode_piece_uncached(std::string_view piece, std::vector<TokenId>& out) const;
  void merge_symbols(std::string_view piece, std::vector<TokenId>& out) const;
  void wordpiece_word(std::string_view word, std::vector<TokenId>& out) const;
  TokenId lookup(std::string_view s) const {
    auto it = token_to_id.find(s);
    return it == token_to_id.end() ? kNoToken : it->second;
  }
};

}  // namespace slm::tok
