// Stop strings over streamed text: a match may span several tokens, and no byte of it is ever emitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace slm::runtime {

// Feed decoded pieces in order; each push returns the text that can no longer become part of a stop
// string. Text that might still be the start of one is held back until the next piece settles it.
// Generation stops as soon as the text so far contains a stop string, cut before the earliest complete
// one (a longer stop string that began earlier but is not complete yet does not hold it up).
class StopMatcher {
 public:
  StopMatcher() = default;
  explicit StopMatcher(std::vector<std::string> stops);  // empty strings are ignored

  // Returns the text now safe to emit. After a match it returns the text before the match and
  // stopped() becomes true; later pushes return nothing.
  std::string push(std::string_view piece);
  // At the end of generation without a match: the held-back text. Empty after a match.
  std::string flush();

  bool stopped() const { return matched_ >= 0; }
  // The stop string that matched; empty when none did.
  std::string_view matched() const;
  bool empty() const { return stops_.empty(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  int matched_ = -1;
};

}  // namespace slm::runtime
