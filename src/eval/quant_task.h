// What quantisation costs on a task: a base and a quantised model scored side by side on the task's held-out
// set (by the harness), how many answers flip, the KL divergence of the next-token distribution at the
// answer position, and the task's quality bar (quality.max_kl, min_accuracy, min_f1) as a gate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/candidate.h"
#include "eval/contract.h"
#include "eval/harness.h"

namespace slm::eval {

struct KlStats {
  size_t n = 0;  // examples compared
  double mean = 0, median = 0, p99 = 0, max = 0;
};
nlohmann::json to_json(const KlStats& k);

struct QuantTaskReport {
  std::string task;
  OutputKind kind = OutputKind::label;
  size_t n_eval = 0;
  CandidateReport base, quant;  // scored by score_candidate, predictions kept (answer logits dropped)
  double accuracy_base = 0, accuracy_quant = 0;  // accuracy (label) or exact match (json/text)
  size_t right_to_wrong = 0;  // base right, quantised wrong
  size_t wrong_to_right = 0;  // base wrong, quantised right
  size_t changed = 0;         // answers that differ at all
  // KL(base || quantised) of the full next-token distribution at the answer position, per example.
  KlStats kld;
  // Label tasks: KL(base || quantised) of the constrained label-choice distributions (mean over examples).
  std::optional<double> label_kld_mean;
  // The gate: the bars applied and what failed ("KL divergence 0.0312 > 0.02 (max_kl)", ...).
  std::optional<double> max_kld, min_accuracy, min_f1;
  std::string max_kld_from;  // "task" (quality.max_kl) or "--max-kld"
  std::vector<std::string> failures;
  bool pass() const { return failures.empty(); }
  nlohmann::json to_json(bool with_predictions = false) const;
};

struct QuantTaskOptions {
  std::optional<double> max_kld;  // replaces the task's quality.max_kl when set
  Progress progress;              // called per example with candidate name "base+quant"
};

// Runs both candidates (local models created with keep_answer_logits) over d's inputs in lockstep and fills
// the report; the bars come from t.quality (latency is not part of this gate). Throws slm::Error when the
// two models answer with logits of different sizes.
QuantTaskReport quant_task_report(const TaskContract& t, const EvalData& d, Candidate& base, Candidate& quant,
                                  const QuantTaskOptions& opt = {});

// The terminal table: accuracy of both, flips, KL statistics and the gate's verdict.
std::string quant_task_table(const QuantTaskReport& r);

}  // namespace slm::eval
