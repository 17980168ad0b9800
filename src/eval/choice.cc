// Label scoring helpers shared by every candidate: constrained-choice probabilities and label matching.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "eval/candidate.h"

namespace slm::eval {

namespace {
double logsumexp(const std::vector<double>& v) {
  double m = -std::numeric_limits<double>::infinity();
  for (double x : v) m = std::max(m, x);
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

std::string lower_trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n\"'.`*"), b = s.find_last_not_of(" \t\r\n\"'.`*");
  std::string o = a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  for (char& c : o) c = char(std::tolower((unsigned char)c));
  return o;
}
}  // namespace

std::vector<double> choice_probabilities(const std::vector<std::vector<int32_t>>& seqs,
                                         const std::vector<std::vector<std::vector<float>>>& logits) {
  const size_t n = seqs.size();
  if (n == 0 || logits.size() != n) fail("[eval] choice: {} sequences, {} logit sets", n, logits.size());
  std::vector<double> score(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (seqs[i].empty() || logits[i].size() != seqs[i].size()) fail("[eval] choice: label {} has no tokens or rows", i);
    for (size_t j = 0; j < seqs[i].size(); ++j) {
      const std::vector<float>& row = logits[i][j];
      // Tokens allowed after this prefix: position j of every label with the same first j tokens.
      std::vector<int32_t> allowed;
      for (size_t l = 0; l < n; ++l)
        if (seqs[l].size() > j && std::equal(seqs[l].begin(), seqs[l].begin() + ptrdiff_t(j), seqs[i].begin()))
          allowed.push_back(seqs[l][j]);
      std::sort(allowed.begin(), allowed.end());
      allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
      std::vector<double> z;
      for (int32_t t : allowed) {
        if (t < 0 || size_t(t) >= row.size()) fail("[eval] choice: token {} outside the logit row", t);
        z.push_back(row[size_t(t)]);
      }
      score[i] += double(row[size_t(seqs[i][j])]) - logsumexp(z);
    }
  }
  const double norm = logsumexp(score);
  std::vector<double> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = std::isfinite(norm) ? std::exp(score[i] - norm) : 1.0 / double(n);
  return p;
}

int match_label(const std::string& answer, const std::vector<std::string>& labels) {
  const std::string a = lower_trim(answer);
  for (size_t i = 0; i < labels.size(); ++i)
    if (a == lower_trim(labels[i])) return int(i);
  int best = -1;
  size_t best_pos = std::string::npos;
  for (size_t i = 0; i < labels.size(); ++i) {
    const size_t p = a.find(lower_trim(labels[i]));
    if (p != std::string::npos && (p < best_pos || (p == best_pos && labels[i].size() > labels[size_t(best)].size())))
      best = int(i), best_pos = p;
  }
  return best;
}

}  // namespace slm::eval
