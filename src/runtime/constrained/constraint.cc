// TokenIndex (lazy DFA + mask cache over the vocabulary trie) and the per-sequence Constraint.
#include "runtime/constrained/constraint.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace slm::constrained {

Grammar make_grammar(const ExprPtr& e, size_t max_states) {
  return Grammar{std::make_shared<const Nfa>(compile_nfa(e, max_states))};
}

bool grammar_matches(const Grammar& g, std::string_view text) {
  LazyDfa dfa(g.nfa);
  if (dfa.start() == LazyDfa::kDead) return false;
  const int32_t s = dfa.walk(dfa.start(), text);
  return s != LazyDfa::kDead && dfa.accepting(s);
}

TokenIndex::TokenIndex(Grammar g, std::shared_ptr<const VocabTrie> vocab, size_t cache_bytes)
    : dfa_(g.nfa), vocab_(std::move(vocab)), start_(dfa_.start()), cache_limit_(cache_bytes) {
  SLM_CHECK(vocab_ != nullptr, "TokenIndex without a vocabulary");
  if (start_ == kDead) fail("[constrained] the constraint matches no text at all (unsatisfiable)");
  walk_states_.resize(vocab_->max_depth() + 1);
}

const std::vector<uint64_t>& TokenIndex::mask_locked(int32_t state) {
  if (auto it = masks_.find(state); it != masks_.end()) return it->second;
  const size_t words = vocab_->n_words();
  if (cache_bytes_ + words * 8 > cache_limit_ && !masks_.empty()) {
    masks_.clear();
    cache_bytes_ = 0;
  }
  std::vector<uint64_t> m(words, 0);
  // One preorder walk of the trie; a dead state prunes the whole subtree.
  const auto& nodes = vocab_->nodes();
  const auto& ids = vocab_->ids();
  walk_states_[0] = state;
  for (size_t i = 0; i < nodes.size();) {
    const VocabTrie::Node& nd = nodes[i];
    const int32_t t = dfa_.next(walk_states_[nd.depth - 1], nd.byte);
    if (t == kDead) {
      i = nd.end;
      continue;
    }
    walk_states_[nd.depth] = t;
    for (uint32_t k = nd.tok_begin; k < nd.tok_end; ++k) m[size_t(ids[k]) >> 6] |= uint64_t(1) << (ids[k] & 63);
    ++i;
  }
  if (dfa_.accepting(state)) {
    for (int32_t id : vocab_->vocab().eos) m[size_t(id) >> 6] |= uint64_t(1) << (id & 63);
  }
  ++computed_;
  cache_bytes_ += words * 8;
  return masks_.emplace(state, std::move(m)).first->second;
}

void TokenIndex::fill_mask(int32_t state, std::span<uint64_t> mask) {
  SLM_CHECK(mask.size() >= vocab_->n_words(), "mask of {} words, need {}", mask.size(), vocab_->n_words());
  std::lock_guard lock(mu_);
  const auto& m = mask_locked(state);
  std::memcpy(mask.data(), m.data(), m.size() * 8);
  std::fill(mask.begin() + std::ptrdiff_t(m.size()), mask.end(), 0);
}

int32_t TokenIndex::advance(int32_t state, int32_t token) {
  if (token < 0 || token >= vocab_->n_vocab()) return kDead;
  if (vocab_->is_eos(token) || vocab_->is_special(token)) return kDead;
  const std::string& p = vocab_->vocab().pieces[size_t(token)];
  if (p.empty()) return kDead;
  std::lock_guard lock(mu_);
  return dfa_.walk(state, p);
}

int32_t TokenIndex::advance_bytes(int32_t state, std::string_view bytes) {
  std::lock_guard lock(mu_);
  return dfa_.walk(state, bytes);
}

bool TokenIndex::accepting(int32_t state) {
  std::lock_guard lock(mu_);
  return dfa_.accepting(state);
}

bool TokenIndex::can_continue(int32_t state) {
  std::lock_guard lock(mu_);
  return dfa_.has_next(state);
}

uint32_t TokenIndex::distance(int32_t state) {
  std::lock_guard lock(mu_);
  return dfa_.distance(state);
}

TokenIndexStats TokenIndex::stats() {
  std::lock_guard lock(mu_);
  return {dfa_.n_states(), masks_.size(), computed_, cache_bytes_};
}

Constraint::Constraint(std::shared_ptr<TokenIndex> index) : index_(std::move(index)) {
  SLM_CHECK(index_ != nullptr, "Constraint without an index");
  state_ = index_->start();
}

void Constraint::allowed(std::span<uint64_t> mask) {
  if (finished_) {
    std::fill(mask.begin(), mask.end(), 0);
    return;
  }
  index_->fill_mask(state_, mask);
}

std::vector<uint64_t> Constraint::allowed() {
  std::vector<uint64_t> m(index_->n_words());
  allowed(m);
  return m;
}

bool Constraint::is_allowed(int32_t token) {
  if (finished_ || token < 0 || token >= index_->vocab().n_vocab()) return false;
  if (index_->vocab().is_eos(token)) return index_->accepting(state_);
  return index_->advance(state_, token) != TokenIndex::kDead;
}

bool Constraint::advance(int32_t token) {
  if (finished_ || token < 0 || token >= index_->vocab().n_vocab()) return false;
  if (index_->vocab().is_eos(token)) {
    if (!index_->accepting(state_)) return false;
    finished_ = true;
    return true;
  }
  const int32_t t = index_->advance(state_, token);
  if (t == TokenIndex::kDead) return false;
  state_ = t;
  return true;
}

bool Constraint::accepting() { return finished_ || index_->accepting(state_); }

bool Constraint::done() { return finished_ || (index_->accepting(state_) && !index_->can_continue(state_)); }

void Constraint::mask_logits(std::span<float> logits) {
  const size_t n = size_t(index_->vocab().n_vocab());
  SLM_CHECK(logits.size() >= n, "{} logits for a vocabulary of {}", logits.size(), n);
  scratch_.resize(index_->n_words());
  allowed(scratch_);
  constexpr float kNeg = -std::numeric_limits<float>::infinity();
  for (size_t w = 0; w < scratch_.size(); ++w) {
    const uint64_t bits = scratch_[w];
    if (bits == ~uint64_t(0)) continue;
    const size_t lo = w * 64, hi = std::min(lo + 64, n);
    if (bits == 0) {
      std::fill(logits.begin() + std::ptrdiff_t(lo), logits.begin() + std::ptrdiff_t(hi), kNeg);
      continue;
    }
    float* row = logits.data() + lo;
    for (size_t k = 0; k < hi - lo; ++k) row[k] = ((bits >> k) & 1) ? row[k] : kNeg;  // branch-free: vectorises
  }
  std::fill(logits.begin() + std::ptrdiff_t(n), logits.end(), kNeg);
}

void Constraint::reset() {
  state_ = index_->start();
  finished_ = false;
}

}  // namespace slm::constrained
