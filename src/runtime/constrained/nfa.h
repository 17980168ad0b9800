// Byte-level NFA (Thompson construction) compiled from the IR, pruned to states that can still reach
// the accept state, with byte equivalence classes and each state's shortest distance to acceptance.
#pragma once

#include <bitset>
#include <cstdint>
#include <vector>

#include "runtime/constrained/ir.h"

namespace slm::constrained {

struct Nfa {
  struct State {
    int32_t next = -1;      // target of the byte edge, -1 when none
    uint32_t set = 0;       // index into `sets` of the byte edge's label
    std::vector<uint32_t> eps;
  };
  std::vector<State> states;
  std::vector<std::bitset<256>> sets;  // distinct edge labels
  uint32_t start = 0, accept = 0;
  std::vector<uint8_t> live;           // 1 when the accept state is reachable from the state
  std::vector<uint32_t> dist;          // fewest bytes to reach accept (kFar when not live)
  uint8_t byte_class[256] = {};        // bytes that no edge label tells apart share a class
  int n_classes = 1;
  std::vector<uint8_t> class_rep;      // one byte of each class

  static constexpr uint32_t kFar = 0xFFFFFFFFu;
};

// Compiles `e`; throws slm::Error("[constrained] ... too large") past max_states states.
Nfa compile_nfa(const ExprPtr& e, size_t max_states);

}  // namespace slm::constrained
