// The baseline as a Candidate: trained on the task's train split at construction.
#include <chrono>

#include "core/error.h"
#include "eval/baseline.h"
#include "eval/candidate.h"

namespace slm::eval {

namespace {
class BaselineCandidate : public Candidate {
 public:
  BaselineCandidate(const TaskContract& t, const std::vector<data::Row>& train) : task_(t) {
    if (t.kind != OutputKind::label) return;
    std::vector<std::string> texts;
    std::vector<int> labels;
    for (size_t i = 0; i < train.size(); ++i) {
      const std::string y = expected_output(t, train[i]);
      const auto it = std::find(t.labels.begin(), t.labels.end(), y);
      if (it == t.labels.end()) fail("[eval] train row {} has label '{}' outside the task's labels", i + 1, y);
      texts.push_back(render_input(t, train[i]));
      labels.push_back(int(it - t.labels.begin()));
    }
    model_.emplace(LogisticBaseline::train(texts, labels, int(t.labels.size())));
  }
  std::string name() const override { return "baseline (hashed n-gram logistic regression)"; }
  std::string kind() const override { return "baseline"; }
  Prediction predict(const std::string& input) override {
    Prediction p;
    if (!model_) return p;
    const auto t0 = std::chrono::steady_clock::now();
    p.probs = model_->predict_proba(input);
    p.label = int(std::max_element(p.probs.begin(), p.probs.end()) - p.probs.begin());
    p.output = task_.labels[size_t(p.label)];
    p.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return p;
  }

 private:
  const TaskContract& task_;
  std::optional<LogisticBaseline> model_;
};
}  // namespace

std::unique_ptr<Candidate> make_baseline_candidate(const TaskContract& t, const std::vector<data::Row>& train) {
  return std::make_unique<BaselineCandidate>(t, train);
}

}  // namespace slm::eval
