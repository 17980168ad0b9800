// Stop-string matching with a hold-back buffer.
#include "runtime/stop.h"

#include <algorithm>

namespace slm::runtime {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (std::string& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

std::string StopMatcher::push(std::string_view piece) {
  if (stopped()) return {};
  held_.append(piece);
  // The earliest full match wins (the longest stop string among those starting there).
  size_t best = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t at = held_.find(stops_[i]);
    if (at == std::string::npos) continue;
    if (best == std::string::npos || at < best ||
        (at == best && stops_[i].size() > stops_[size_t(matched_)].size())) {
      best = at;
      matched_ = int(i);
    }
  }
  if (best != std::string::npos) {
    std::string out = held_.substr(0, best);
    held_.clear();
    return out;
  }
  // Hold back the longest tail of held_ that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const std::string& s : stops_) {
    const size_t max = std::min(s.size() - 1, held_.size());
    for (size_t n = max; n > keep; --n) {
      if (std::string_view(held_).substr(held_.size() - n) == std::string_view(s).substr(0, n)) {
        keep = n;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

std::string_view StopMatcher::matched() const {
  return matched_ >= 0 ? std::string_view(stops_[size_t(matched_)]) : std::string_view();
}

}  // namespace slm::runtime
