// Lazy subset construction over the pruned NFA.
#include "runtime/constrained/dfa.h"

#include <algorithm>

#include "core/error.h"

namespace slm::constrained {

LazyDfa::LazyDfa(std::shared_ptr<const Nfa> nfa) : owner_(std::move(nfa)), nfa_(*owner_) {
  stamp_.assign(nfa_.states.size(), 0);
  if (nfa_.live[nfa_.start]) {
    std::vector<uint32_t> seeds{nfa_.start};
    start_ = intern(seeds);
  }
}

int32_t LazyDfa::fill(int32_t s, uint8_t cls) {
  const uint8_t byte = nfa_.class_rep[cls];
  std::vector<uint32_t> seeds;
  for (uint32_t q : sets_[size_t(s)]) {
    const Nfa::State& st = nfa_.states[q];
    if (st.next >= 0 && nfa_.sets[st.set][byte]) seeds.push_back(uint32_t(st.next));
  }
  const int32_t t = seeds.empty() ? kDead : intern(seeds);
  trans_[size_t(s) * size_t(nfa_.n_classes) + cls] = t;
  return t;
}

// Closes `seeds` under epsilon edges and returns the id of the resulting state (new or known).
int32_t LazyDfa::intern(std::vector<uint32_t>& seeds) {
  if (++epoch_ == 0) {
    std::fill(stamp_.begin(), stamp_.end(), 0);
    epoch_ = 1;
  }
  std::vector<uint32_t> stack;
  for (uint32_t q : seeds) {
    if (stamp_[q] != epoch_) stamp_[q] = epoch_, stack.push_back(q);
  }
  std::vector<uint32_t> set;
  bool acc = false;
  uint32_t dist = Nfa::kFar;
  while (!stack.empty()) {
    const uint32_t q = stack.back();
    stack.pop_back();
    const Nfa::State& st = nfa_.states[q];
    if (q == nfa_.accept) acc = true;
    if (st.next >= 0) set.push_back(q);
    dist = std::min(dist, nfa_.dist[q]);
    for (uint32_t t : st.eps) {
      if (stamp_[t] != epoch_) stamp_[t] = epoch_, stack.push_back(t);
    }
  }
  if (set.empty() && !acc) return kDead;
  std::sort(set.begin(), set.end());
  std::string key(reinterpret_cast<const char*>(set.data()), set.size() * sizeof(uint32_t));
  key += acc ? 'a' : 'n';
  auto [it, fresh] = ids_.emplace(std::move(key), int32_t(sets_.size()));
  if (fresh && sets_.size() >= kMaxStates) {
    // Subset construction can blow up (an unanchored pattern with a long counted repeat); refuse
    // rather than exhaust memory.
    ids_.erase(it);
    fail("[constrained] the constraint's automaton grew past {} states while decoding", kMaxStates);
  }
  if (fresh) {
    SLM_CHECK(dist != Nfa::kFar, "live DFA state without a path to acceptance");
    sets_.push_back(std::move(set));
    accepting_.push_back(acc);
    dist_.push_back(dist);
    trans_.resize(trans_.size() + size_t(nfa_.n_classes), kUnknown);
  }
  return it->second;
}

}  // namespace slm::constrained
