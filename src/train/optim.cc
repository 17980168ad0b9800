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
  for (size_t p = 0; p < params.size(); ++p) {
    Tensor<float>& t = *params[p];
    const bool decay = cfg_.weight_decay > 0 && t.rows > 1;
    float* m = m_[p].data();
    float* v = v_[p].data();
    for (size_t i = 0; i < t.w.size(); ++i) {
      const float g = t.g[i];
      m[i] = cfg_.beta1 * m[i] + (1 - cfg_.beta1) * g;
      v[i] = cfg_.beta2 * v[i] + (1 - cfg_.beta2) * g * g;
      const double upd = (double(m[i]) / bc1) / (std::sqrt(double(v[i]) / bc2) + double(cfg_.eps));
      if (decay) t.w[i] -= lr * cfg_.weight_decay * t.w[i];
      t.w[i] -= float(double(lr) * upd);
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
