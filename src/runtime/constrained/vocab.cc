// The vocabulary trie: tokens sorted by bytes, laid out in preorder with subtree ends.
#include "runtime/constrained/vocab.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace slm::constrained {

VocabTrie::VocabTrie(Vocabulary v) : vocab_(std::move(v)) {
  const size_t n = vocab_.pieces.size();
  if (n == 0) fail("[constrained] empty vocabulary");
  if (n > size_t(INT32_MAX)) fail("[constrained] vocabulary too large ({} tokens)", n);
  if (!vocab_.special.empty() && vocab_.special.size() != n) {
    fail("[constrained] vocabulary: {} pieces but {} special flags", n, vocab_.special.size());
  }
  for (int32_t id : vocab_.eos) {
    if (id < 0 || size_t(id) >= n) fail("[constrained] vocabulary: eos id {} out of range [0, {})", id, n);
  }
  std::vector<int32_t> order;
  for (size_t i = 0; i < n; ++i) {
    // Empty normal tokens would let generation run without progress; they are never allowed.
    if (!is_special(int32_t(i)) && !vocab_.pieces[i].empty() && !is_eos(int32_t(i))) order.push_back(int32_t(i));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return vocab_.pieces[size_t(a)] != vocab_.pieces[size_t(b)] ? vocab_.pieces[size_t(a)] < vocab_.pieces[size_t(b)]
                                                                : a < b;
  });
  std::vector<uint32_t> path;  // node index per depth - 1
  const std::string* prev = nullptr;
  for (int32_t id : order) {
    const std::string& p = vocab_.pieces[size_t(id)];
    size_t lcp = 0;
    if (prev) {
      const size_t m = std::min(prev->size(), p.size());
      while (lcp < m && (*prev)[lcp] == p[lcp]) ++lcp;
      lcp = std::min(lcp, path.size());
    }
    while (path.size() > lcp) {
      nodes_[path.back()].end = uint32_t(nodes_.size());
      path.pop_back();
    }
    for (size_t d = path.size(); d < p.size(); ++d) {
      path.push_back(uint32_t(nodes_.size()));
      nodes_.push_back({0, uint32_t(d + 1), uint32_t(ids_.size()), uint32_t(ids_.size()), uint8_t(p[d])});
    }
    Node& leaf = nodes_[path.back()];
    if (leaf.tok_end != ids_.size()) leaf.tok_begin = leaf.tok_end = uint32_t(ids_.size());
    ids_.push_back(id);
    leaf.tok_end = uint32_t(ids_.size());
    max_depth_ = std::max(max_depth_, uint32_t(p.size()));
    prev = &p;
  }
  while (!path.empty()) {
    nodes_[path.back()].end = uint32_t(nodes_.size());
    path.pop_back();
  }
}

bool VocabTrie::is_eos(int32_t id) const {
  return std::find(vocab_.eos.begin(), vocab_.eos.end(), id) != vocab_.eos.end();
}

}  // namespace slm::constrained
