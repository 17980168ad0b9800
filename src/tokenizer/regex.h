// A compiled PCRE2 pattern (UTF + UCP, JIT when available) and the split behaviours of pre-tokenizers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/spec.h"

namespace slm::tok {

class Regex {
 public:
  Regex() = default;
  // Throws slm::Error("[tokenizer] bad regex ...") when PCRE2 rejects the pattern.
  // literal: the pattern is plain text, not a regular expression.
  explicit Regex(std::string_view pattern, bool literal = false);
  bool empty() const { return !code_; }
  const std::string& pattern() const { return pattern_; }
  // Appends the [begin, end) byte ranges of all non-overlapping non-empty matches in s, left to right.
  // s must be valid UTF-8.
  void find_all(std::string_view s, std::vector<std::pair<uint32_t, uint32_t>>& out) const;

 private:
  struct Code;
  std::shared_ptr<Code> code_;
  std::string pattern_;
};

struct SplitStep {
  Regex regex;
  PreStep::Behavior behavior = PreStep::Behavior::isolated;
  bool invert = false;  // the matches are the gaps and the gaps the matches
};

// Cuts every piece (a byte range of `text`) by `step`; pieces are replaced in place by their parts.
void split_pieces(std::string_view text, const SplitStep& step, std::vector<std::pair<uint32_t, uint32_t>>& pieces);

}  // namespace slm::tok
