// AdamW, clipping and the learning-rate schedule.
#include "train/optim.h"

#include <cmath>

namespace slm::train {

float Schedule::at(int step) const {
  if (warmup > 0 && step < warmup) return lr * float(step + 1) / float(warmup);
  const int span = std::max(1, total - warmup - 1);
  const double progress = std::min(1.0, double(step - warmup) / double(span));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return float(lr * (min_ratio + (1.0 - min_ratio) * cosine));
}

void AdamW::step(const std::vector<Tensor<float>*>& params, float lr) {
  if (m_.size() != params.size()) {
    m_.resize(params.size()), v_.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i)
      m_[i].assign(params[i]->w.size(), 0.0f), v_[i].assign(params[i]->w.size(), 0.0f);
  }
  ++t_;
  const double bc1 = 1.0 - std::pow(double(cfg_.beta1), double(t_));
  const double bc2 = 1.0 - std::pow(double(cfg_.beta2), double(t_));
  // Float arithmetic in a loop the compiler vectorises: w -= lr * (m / bc1) / (sqrt(v / bc2) + eps).
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
  const float step = float(double(lr) / bc1), inv_bc2 = float(1.0 / bc2);
  for (size_t p = 0; p < params.size(); ++p) {
    Tensor<float>& t = *params[p];
    const float keep = cfg_.weight_decay > 0 && t.rows > 1 ? 1.0f - lr * cfg_.weight_decay : 1.0f;
    float* __restrict m = m_[p].data();
    float* __restrict v = v_[p].data();
    float* __restrict w = t.w.data();
    const float* __restrict gr = t.g.data();
    const size_t n = t.w.size();
    for (size_t i = 0; i < n; ++i) {
      const float g = gr[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      w[i] = w[i] * keep - step * m[i] / (__builtin_sqrtf(v[i] * inv_bc2) + eps);
    }
  }
}

double clip_grad_norm(const std::vector<Tensor<float>*>& params, double max_norm) {
  double ss = 0;
  for (const Tensor<float>* t : params)
    for (float g : t->g) ss += double(g) * double(g);
  const double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    const float s = float(max_norm / (norm + 1e-12));
    for (Tensor<float>* t : params)
      for (float& g : t->g) g *= s;
  }
  return norm;
}

}  // namespace slm::train
