// Token-level constraints: a compiled byte language (Grammar) bound to a vocabulary (TokenIndex, shared
// by every sequence that uses the same grammar and vocabulary, caching one token mask per automaton
// state), and the per-sequence cursor (Constraint) that the sampler asks for the allowed tokens.
//
//   auto trie = std::make_shared<VocabTrie>(vocabulary_from_tokenizer(tok));      // once per model
//   auto index = std::make_shared<TokenIndex>(compile_json_schema(schema), trie);  // once per schema
//   Constraint c(index);                                                          // once per sequence
//   c.mask_logits(logits); id = sample(logits); c.advance(id);                    // every token
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/constrained/dfa.h"
#include "runtime/constrained/nfa.h"
#include "runtime/constrained/vocab.h"

namespace slm::constrained {

// A byte language: what the whole output must be. Immutable; cheap to copy.
struct Grammar {
  std::shared_ptr<const Nfa> nfa;
  size_t n_states() const { return nfa ? nfa->states.size() : 0; }
};
Grammar make_grammar(const ExprPtr& e, size_t max_states);
// Whether `text` is in the language (a whole answer). Builds a private DFA: for checks, not hot paths.
bool grammar_matches(const Grammar& g, std::string_view text);

struct TokenIndexStats {
  size_t dfa_states = 0;
  size_t masks_cached = 0;
  size_t masks_computed = 0;  // including recomputations after the cache was cleared
  size_t cache_bytes = 0;
};

// Grammar x vocabulary: the lazy DFA and one token mask per DFA state, computed on first use by one walk
// of the vocabulary trie. Thread-safe (one mutex); states are small integers valid for its lifetime.
// fill_mask/advance throw slm::Error if the lazy DFA outgrows LazyDfa::kMaxStates (pathological
// patterns only).
class TokenIndex {
 public:
  static constexpr int32_t kDead = LazyDfa::kDead;

  // cache_bytes bounds the masks kept (the cache is cleared when full and refilled on demand).
  TokenIndex(Grammar g, std::shared_ptr<const VocabTrie> vocab, size_t cache_bytes = size_t(256) << 20);

  int32_t start() const { return start_; }
  // Bit id of mask (n_words() words) set when the token may follow `state`. Eos ids only when accepting.
  void fill_mask(int32_t state, std::span<uint64_t> mask);
  // The state after `token`, or kDead when it is not allowed (eos gives kDead too: it ends the text).
  int32_t advance(int32_t state, int32_t token);
  int32_t advance_bytes(int32_t state, std::string_view bytes);
  bool accepting(int32_t state);
  bool can_continue(int32_t state);  // some byte may follow
  uint32_t distance(int32_t state);  // fewest bytes to an accepting state
  const VocabTrie& vocab() const { return *vocab_; }
  size_t n_words() const { return vocab_->n_words(); }
  TokenIndexStats stats();

 private:
  const std::vector<uint64_t>& mask_locked(int32_t state);

  std::mutex mu_;
  LazyDfa dfa_;
  std::shared_ptr<const VocabTrie> vocab_;
  int32_t start_;
  size_t cache_limit_, cache_bytes_ = 0, computed_ = 0;
  std::unordered_map<int32_t, std::vector<uint64_t>> masks_;
  std::vector<int32_t> walk_states_;  // per trie depth, reused by the walk
};

// One sequence's position in the language. Copyable (copies share the index).
class Constraint {
 public:
  explicit Constraint(std::shared_ptr<TokenIndex> index);

  // Sets exactly the allowed ids in mask (index().n_words() words; bit i of word i/64). After an eos was
  // accepted nothing is allowed.
  void allowed(std::span<uint64_t> mask);
  std::vector<uint64_t> allowed();
  bool is_allowed(int32_t token);
  // Moves past `token`; false (and no change) when it is not allowed. An eos id is allowed only when
  // accepting() and finishes the constraint.
  bool advance(int32_t token);
  bool accepting();  // the text so far is a complete answer
  bool finished() const { return finished_; }
  // True when generation must stop: an eos was accepted, or the text is complete and nothing may follow.
  bool done();
  // Sets every disallowed logit to -inf (logits.size() >= the vocabulary size; extra entries too).
  void mask_logits(std::span<float> logits);
  void reset();
  int32_t state() const { return state_; }
  TokenIndex& index() { return *index_; }

 private:
  std::shared_ptr<TokenIndex> index_;
  int32_t state_;
  bool finished_ = false;
  std::vector<uint64_t> scratch_;
};

}  // namespace slm::constrained
