// Distillation: a teacher model (run by slm's inference, model::Model) gives the top-k of its next-token
// distribution at every position; the student's loss mixes the KL divergence to it with cross-entropy.
#pragma once

#include <cstdint>
#include <vector>

namespace slm::model {
class Model;
}

namespace slm::train {

struct DistillConfig {
  int top_k = 32;            // teacher tokens kept per position, renormalised
  float temperature = 2.0f;  // both distributions are softened by it
  float alpha = 0.5f;        // loss = alpha * T^2 * KL(teacher || student) + (1 - alpha) * cross-entropy
};

// The teacher's top-k distribution of one sequence: ids and probabilities (n, k), each row summing to 1.
struct TeacherTargets {
  int k = 0;
  std::vector<int32_t> ids;
  std::vector<float> probs;
};

// Top-k of softmax(logits / T), renormalised over the k; logits: (n, vocab).
TeacherTargets teacher_top_k(const float* logits, int64_t n, int64_t vocab, const DistillConfig& c);

class Teacher {
 public:
  // The model must outlive the Teacher. Throws slm::Error for a top_k or temperature out of range.
  Teacher(const model::Model& m, DistillConfig c);
  const DistillConfig& config() const { return cfg_; }
  int n_vocab() const;
  // Runs the teacher over `tokens` (fresh cache) and keeps its top-k at every position.
  TeacherTargets targets(const std::vector<int32_t>& tokens) const;

 private:
  const model::Model* m_;
  DistillConfig cfg_;
};

}  // namespace slm::train
