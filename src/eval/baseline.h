// The classic baseline: multinomial logistic regression on hashed word (1-2) and character (3-5) n-grams,
// trained with Adagrad on the task's train split in seconds. Every report carries it so that each one
// answers "does this task need a language model?".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace slm::eval {

struct BaselineOptions {
  int hash_bits = 18;  // 2^18 feature buckets
  int epochs = 8;
  double learning_rate = 0.5;
  double l2 = 1e-6;
  uint64_t seed = 1;
};

// (bucket, value) pairs, L2-normalised; log(1 + count) weighting.
struct SparseVec {
  std::vector<uint32_t> idx;
  std::vector<float> val;
};
SparseVec hashed_features(const std::string& text, int hash_bits);

class LogisticBaseline {
 public:
  // labels: class index per text in [0, n_classes). Throws slm::Error on empty or mismatched input.
  static LogisticBaseline train(const std::vector<std::string>& texts, const std::vector<int>& labels, int n_classes,
                                const BaselineOptions& opt = {});
  std::vector<double> predict_proba(const std::string& text) const;  // n_classes probabilities
  int predict(const std::string& text) const;
  int n_classes() const { return n_classes_; }

 private:
  int n_classes_ = 0, hash_bits_ = 18;
  std::vector<float> w_;  // (n_features, n_classes)
  std::vector<float> b_;
  std::vector<double> logits(const SparseVec& x) const;
};

}  // namespace slm::eval
