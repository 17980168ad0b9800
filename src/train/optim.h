// AdamW with decoupled weight decay (matrices only), global-norm gradient clipping, and a linear warm-up
// followed by a cosine decay of the learning rate.
#pragma once

#include <cstdint>
#include <vector>

#include "train/net.h"

namespace slm::train {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;  // applied to 2-D tensors only (not norms or biases)
};

struct Schedule {
  float lr = 1e-3f;
  int warmup = 0;           // steps of linear warm-up from lr / warmup
  int total = 1;            // steps in the run; the cosine reaches min_ratio * lr at the last step
  float min_ratio = 0.1f;
  float at(int step) const;  // step counts from 0
};

class AdamW {
 public:
  explicit AdamW(AdamWConfig cfg = {}) : cfg_(cfg) {}
  // One update of every tensor in `params` (their .g holds the averaged gradient).
  void step(const std::vector<Tensor<float>*>& params, float lr);
  int64_t steps() const { return t_; }
  // State for checkpoints: moments in the order of `params`.
  std::vector<std::vector<float>>& m() { return m_; }
  std::vector<std::vector<float>>& v() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  AdamWConfig cfg_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

// Scales all gradients so that their global L2 norm is at most max_norm (<= 0: no clipping); returns the
// norm before clipping.
double clip_grad_norm(const std::vector<Tensor<float>*>& params, double max_norm);

}  // namespace slm::train
