// The teacher side of distillation: inference over a sequence and the top-k of its distribution.
#include "train/distill.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "model/model.h"

namespace slm::train {

TeacherTargets teacher_top_k(const float* logits, int64_t n, int64_t vocab, const DistillConfig& c) {
  TeacherTargets r;
  r.k = int(std::min<int64_t>(c.top_k, vocab));
  const size_t k = size_t(r.k);
  r.ids.resize(size_t(n) * k), r.probs.resize(size_t(n) * k);
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  for (int64_t t = 0; t < n; ++t) {
    const float* z = logits + t * vocab;
    std::iota(idx.begin(), idx.end(), 0);
    // Highest logits first; ties go to the lower id so the order is reproducible.
    std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(k), idx.end(),
                      [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    const double mx = z[idx[0]] / c.temperature;
    double sum = 0;
    for (size_t j = 0; j < k; ++j) sum += std::exp(z[idx[j]] / c.temperature - mx);
    for (size_t j = 0; j < k; ++j) {
      r.ids[size_t(t) * k + j] = idx[j];
      r.probs[size_t(t) * k + j] = float(std::exp(z[idx[j]] / c.temperature - mx) / sum);
    }
  }
  return r;
}

Teacher::Teacher(const model::Model& m, DistillConfig c) : m_(&m), cfg_(c) {
  if (c.top_k < 1) fail("[train] distillation top-k must be at least 1, got {}", c.top_k);
  if (!(c.temperature > 0)) fail("[train] distillation temperature must be positive, got {}", c.temperature);
  if (!(c.alpha >= 0 && c.alpha <= 1)) fail("[train] --distill-alpha must be in [0, 1], got {}", c.alpha);
}

int Teacher::n_vocab() const { return m_->n_vocab(); }

TeacherTargets Teacher::targets(const std::vector<int32_t>& tokens) const {
  if (tokens.empty()) return {.k = std::min(cfg_.top_k, n_vocab()), .ids = {}, .probs = {}};
  if (int64_t(tokens.size()) > m_->n_ctx())
    fail("[train] a sequence of {} tokens is longer than the teacher's context ({})", tokens.size(), m_->n_ctx());
  model::KvCache kv = m_->make_cache({.n_seq = 1, .n_ctx = int(tokens.size()), .type = model::KvType::f32});
  const std::vector<float> logits = m_->prefill(tokens, kv, 0, true);
  return teacher_top_k(logits.data(), int64_t(tokens.size()), m_->n_vocab(), cfg_);
}

}  // namespace slm::train
