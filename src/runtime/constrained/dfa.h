// A DFA built lazily from the NFA by subset construction: a state is a set of NFA states with byte
// edges (plus whether the accept state is in reach without input); transitions are filled per byte
// class on first use. Not thread-safe: its owner serialises access.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/constrained/nfa.h"

namespace slm::constrained {

class LazyDfa {
 public:
  static constexpr int32_t kDead = -1;
  static constexpr size_t kMaxStates = 500'000;  // next()/walk() throw slm::Error past this

  explicit LazyDfa(std::shared_ptr<const Nfa> nfa);

  int32_t start() const { return start_; }
  int32_t next(int32_t s, uint8_t byte) {
    const size_t at = size_t(s) * size_t(nfa_.n_classes) + nfa_.byte_class[byte];
    const int32_t t = trans_[at];
    return t != kUnknown ? t : fill(s, nfa_.byte_class[byte]);
  }
  // Runs `bytes` from s; kDead when some byte is not allowed.
  int32_t walk(int32_t s, std::string_view bytes) {
    for (char c : bytes) {
      s = next(s, uint8_t(c));
      if (s == kDead) break;
    }
    return s;
  }
  bool accepting(int32_t s) const { return accepting_[size_t(s)] != 0; }
  // Fewest bytes from s to an accepting state.
  uint32_t distance(int32_t s) const { return dist_[size_t(s)]; }
  // Bytes allowed next from s (at least one unless s is accepting and final).
  bool has_next(int32_t s) const { return !sets_[size_t(s)].empty(); }
  size_t n_states() const { return sets_.size(); }
  const Nfa& nfa() const { return nfa_; }

 private:
  static constexpr int32_t kUnknown = -2;
  int32_t fill(int32_t s, uint8_t cls);
  int32_t intern(std::vector<uint32_t>& seeds);

  std::shared_ptr<const Nfa> owner_;
  const Nfa& nfa_;
  int32_t start_ = kDead;
  std::vector<std::vector<uint32_t>> sets_;  // per DFA state: NFA states with a byte edge, sorted
  std::vector<uint8_t> accepting_;
  std::vector<uint32_t> dist_;
  std::vector<int32_t> trans_;  // n_states x n_classes
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<uint32_t> stamp_;  // closure bookkeeping
  uint32_t epoch_ = 0;
};

}  // namespace slm::constrained
