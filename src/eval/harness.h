// The evaluation harness: loads a task's train and held-out sets, trains the baseline, runs every
// candidate over the held-out set, computes the metrics, checks the quality bar and answers
// "does this task need a language model?".
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/records.h"
#include "eval/candidate.h"
#include "eval/contract.h"
#include "eval/metrics.h"

namespace slm::eval {

struct EvalData {
  std::vector<data::Row> train, eval;
  std::vector<std::string> inputs;    // eval inputs, rendered
  std::vector<std::string> expected;  // eval outputs (label text, JSON or text)
  std::vector<int> truth;             // label tasks: index of each expected label
  size_t contaminated = 0;            // eval inputs equal or near-equal to a train input (MinHash)
};

// Reads and checks the data: every row has the template's fields, labels are in the label set, JSON
// outputs parse, and no eval row is marked synthetic ("synthetic": true or "source": "synthetic").
// limit > 0 keeps the first `limit` eval rows.
EvalData load_eval_data(const TaskContract& t, size_t limit = 0);

struct CandidateReport {
  std::string name, kind;
  bool applicable = true;  // false: the baseline on a json/text task
  std::vector<Prediction> predictions;
  size_t n_errors = 0;
  std::optional<ClassificationMetrics> classification;
  std::optional<Calibration> calibration;
  std::optional<ExtractionMetrics> extraction;
  double exact_match = 0;
  LatencyStats latency;
  double tokens_per_s = 0;  // completion tokens over total time
  double cost_per_1k = 0;
  double setup_s = 0;       // baseline training or model loading
  bool meets_bar = false;
  std::vector<std::string> bar_failures;
  double primary() const;   // macro-F1 (label), field F1 (json), exact match (text)
};

struct EvalReport {
  TaskContract task;
  size_t n_train = 0, n_eval = 0, contaminated = 0;
  std::vector<CandidateReport> candidates;  // the baseline first
  bool needs_lm = false;
  std::string verdict;
};

using Progress = std::function<void(const std::string& candidate, size_t done, size_t total)>;

// Scores one candidate's predictions (pure: used by run_eval and tests).
CandidateReport score_candidate(const TaskContract& t, const EvalData& d, std::string name, std::string kind,
                                std::vector<Prediction> preds, bool local);
// Trains the baseline, then runs each candidate (in order) over the held-out set.
EvalReport run_eval(const TaskContract& t, const EvalData& d, std::vector<std::unique_ptr<Candidate>>& candidates,
                    const Progress& progress = {});
// Sets needs_lm and verdict from the candidates' scores.
void decide(EvalReport& r);

}  // namespace slm::eval
