// Hashed n-gram logistic regression.
#include "eval/baseline.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/rng.h"
#include "data/dedup.h"

namespace slm::eval {

namespace {
uint64_t fnv(std::string_view s, uint64_t salt) {
  uint64_t h = 1469598103934665603ull ^ salt;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void softmax(std::vector<double>& z) {
  const double m = *std::max_element(z.begin(), z.end());
  double s = 0;
  for (double& v : z) s += (v = std::exp(v - m));
  for (double& v : z) v /= s;
}
}  // namespace

SparseVec hashed_features(const std::string& text, int hash_bits) {
  const std::string n = data::normalize_text(text);
  const uint64_t mask = (uint64_t(1) << hash_bits) - 1;
  std::unordered_map<uint32_t, float> counts;
  std::vector<std::string_view> words;
  for (size_t i = 0; i < n.size();) {
    size_t j = i;
    while (j < n.size() && n[j] != ' ') ++j;
    words.emplace_back(n.data() + i, j - i);
    i = j + 1;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    counts[uint32_t(fnv(words[i], 1) & mask)] += 1;
    if (i + 1 < words.size()) {
      const std::string bi = std::string(words[i]) + ' ' + std::string(words[i + 1]);
      counts[uint32_t(fnv(bi, 2) & mask)] += 1;
    }
  }
  const std::string padded = " " + n + " ";
  for (size_t k = 3; k <= 5; ++k)
    for (size_t i = 0; i + k <= padded.size(); ++i) counts[uint32_t(fnv(std::string_view(padded).substr(i, k), 10 + k) & mask)] += 1;
  SparseVec v;
  double norm = 0;
  for (const auto& [i, c] : counts) {
    const float x = std::log1p(c);
    v.idx.push_back(i), v.val.push_back(x), norm += double(x) * x;
  }
  const float inv = norm > 0 ? float(1.0 / std::sqrt(norm)) : 0.0f;
  for (float& x : v.val) x *= inv;
  return v;
}

std::vector<double> LogisticBaseline::logits(const SparseVec& x) const {
  const size_t k = size_t(n_classes_);
  std::vector<double> z(b_.begin(), b_.end());
  for (size_t j = 0; j < x.idx.size(); ++j)
    for (size_t c = 0; c < k; ++c) z[c] += double(w_[size_t(x.idx[j]) * k + c]) * x.val[j];
  return z;
}

LogisticBaseline LogisticBaseline::train(const std::vector<std::string>& texts, const std::vector<int>& labels,
                                         int n_classes, const BaselineOptions& opt) {
  if (texts.empty()) fail("[baseline] no training examples");
  if (texts.size() != labels.size()) fail("[baseline] {} texts for {} labels", texts.size(), labels.size());
  if (n_classes < 2) fail("[baseline] need at least 2 classes");
  if (opt.hash_bits < 4 || opt.hash_bits > 26) fail("[baseline] hash_bits {} out of range [4, 26]", opt.hash_bits);
  for (int y : labels)
    if (y < 0 || y >= n_classes) fail("[baseline] label {} out of range", y);
  LogisticBaseline m;
  m.n_classes_ = n_classes, m.hash_bits_ = opt.hash_bits;
  const size_t k = size_t(n_classes), nf = size_t(1) << opt.hash_bits;
  m.w_.assign(nf * k, 0.0f);
  m.b_.assign(k, 0.0f);
  std::vector<float> g2w(nf * k, 0.0f), g2b(k, 0.0f);  // Adagrad accumulators
  std::vector<SparseVec> xs;
  xs.reserve(texts.size());
  for (const std::string& t : texts) xs.push_back(hashed_features(t, opt.hash_bits));
  std::vector<size_t> order(texts.size());
  std::iota(order.begin(), order.end(), 0);
  Rng rng(opt.seed);
  const float lr = float(opt.learning_rate);
  for (int e = 0; e < opt.epochs; ++e) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(rng.next_u64() % i)]);
    for (size_t n : order) {
      const SparseVec& x = xs[n];
      std::vector<double> p = m.logits(x);
      softmax(p);
      p[size_t(labels[n])] -= 1.0;  // gradient of cross-entropy w.r.t. the logits
      for (size_t c = 0; c < k; ++c) {
        const float g = float(p[c]);
        g2b[c] += g * g;
        m.b_[c] -= lr * g / std::sqrt(g2b[c] + 1e-8f);
        for (size_t j = 0; j < x.idx.size(); ++j) {
          const size_t w = size_t(x.idx[j]) * k + c;
          const float gw = g * x.val[j] + float(opt.l2) * m.w_[w];
          g2w[w] += gw * gw;
          m.w_[w] -= lr * gw / std::sqrt(g2w[w] + 1e-8f);
        }
      }
    }
  }
  return m;
}

std::vector<double> LogisticBaseline::predict_proba(const std::string& text) const {
  std::vector<double> z = logits(hashed_features(text, hash_bits_));
  softmax(z);
  return z;
}

int LogisticBaseline::predict(const std::string& text) const {
  const auto p = predict_proba(text);
  return int(std::max_element(p.begin(), p.end()) - p.begin());
}

}  // namespace slm::eval
