// The vocabulary as constrained decoding sees it: each token id's exact bytes, which ids are control
// tokens (never allowed, except an end-of-generation id at an accept state), and a byte trie over the
// normal tokens so that one walk visits every token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace slm::tok {
class Tokenizer;
}

namespace slm::constrained {

struct Vocabulary {
  std::vector<std::string> pieces;  // id -> the bytes the token decodes to
  std::vector<uint8_t> special;     // id -> 1 for control/unused tokens; empty means none
  std::vector<int32_t> eos;         // ids that end generation (allowed only at an accept state)
};

// From the tokenizer: pieces via token_to_piece, control/unknown/unused types marked special, eos from
// eos(), eot() and every id is_eog() accepts. Lives in vocab_tokenizer.cc (the one place that knows the
// tokenizer).
Vocabulary vocabulary_from_tokenizer(const tok::Tokenizer& tok);

// Token bytes in preorder: node i is reached from its parent by `byte`; its subtree ends before `end`.
class VocabTrie {
 public:
  struct Node {
    uint32_t end;                  // first node after this subtree
    uint32_t depth;                // bytes from the root (1 for the root's children)
    uint32_t tok_begin, tok_end;   // ids ending here: ids_[tok_begin, tok_end)
    uint8_t byte;
  };

  // Validates (sizes agree, eos ids in range); throws slm::Error("[constrained] ...").
  explicit VocabTrie(Vocabulary v);

  int n_vocab() const { return int(vocab_.pieces.size()); }
  size_t n_words() const { return (vocab_.pieces.size() + 63) / 64; }
  const Vocabulary& vocab() const { return vocab_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& ids() const { return ids_; }
  uint32_t max_depth() const { return max_depth_; }
  bool is_special(int32_t id) const { return !vocab_.special.empty() && vocab_.special[size_t(id)]; }
  bool is_eos(int32_t id) const;

 private:
  Vocabulary vocab_;
  std::vector<Node> nodes_;
  std::vector<int32_t> ids_;
  uint32_t max_depth_ = 0;
};

}  // namespace slm::constrained
