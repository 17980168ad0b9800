// Evaluation metrics: classification (accuracy, macro-F1, per-class precision/recall, confusion matrix),
// calibration (expected calibration error and the reliability diagram's bins), exact match, JSON validity
// and per-field F1 for extraction, latency percentiles, throughput and cost per 1,000 requests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slm::eval {

struct ClassStats {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;  // 0 where undefined (no predictions / no support)
  size_t support = 0;                        // true examples of the class
};

struct ClassificationMetrics {
  std::vector<std::string> labels;
  double accuracy = 0, macro_f1 = 0;
  std::vector<ClassStats> per_class;
  std::vector<std::vector<size_t>> confusion;  // [true][predicted]; a last column counts invalid (-1) predictions
};
// truth/pred: label indices; pred -1 = no valid label (counts as wrong for every class's recall).
ClassificationMetrics classification_metrics(const std::vector<std::string>& labels, const std::vector<int>& truth,
                                             const std::vector<int>& pred);

struct ReliabilityBin {
  double lo = 0, hi = 0;
  size_t count = 0;
  double confidence = 0, accuracy = 0;  // means over the bin (0 when empty)
};
struct Calibration {
  double ece = 0;  // sum over bins of count/n * |accuracy - confidence|
  std::vector<ReliabilityBin> bins;
};
// confidence: probability of the predicted label, in [0, 1]; equal-width bins, 1.0 in the last bin.
Calibration calibration(const std::vector<double>& confidence, const std::vector<bool>& correct, int n_bins = 10);

// Fraction of pairs equal after trimming surrounding whitespace.
double exact_match(const std::vector<std::string>& pred, const std::vector<std::string>& truth);

struct FieldCounts {
  size_t tp = 0, fp = 0, fn = 0;
  double precision() const;
  double recall() const;
  double f1() const;
};
struct ExtractionMetrics {
  double validity = 0;  // predictions that parse as JSON
  FieldCounts total;    // micro-averaged over every (field path, value) pair
  std::map<std::string, FieldCounts> per_field;  // by top-level field
};
// Each JSON is flattened to (path, value) leaves ("a.b[0]" -> 1); a leaf is a true positive when the
// prediction has the same path with an equal value. Unparseable predictions count all truth leaves as fn.
ExtractionMetrics extraction_metrics(const std::vector<std::string>& pred, const std::vector<std::string>& truth);

struct LatencyStats {
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;  // milliseconds
};
// Percentiles by linear interpolation between closest ranks (numpy's default).
double percentile(std::vector<double> values, double q);  // q in [0, 100]
LatencyStats latency_stats(const std::vector<double>& ms);

double tokens_per_second(double tokens, double seconds);
// Cost of 1,000 requests from mean tokens per request and prices per million tokens, plus compute time
// at per_hour for the mean latency.
double cost_per_1k(double mean_prompt_tokens, double mean_completion_tokens, double input_per_mtok,
                   double output_per_mtok, double mean_latency_ms = 0, double per_hour = 0);

nlohmann::json to_json(const ClassificationMetrics& m);
nlohmann::json to_json(const Calibration& c);
nlohmann::json to_json(const ExtractionMetrics& m);
nlohmann::json to_json(const LatencyStats& l);

}  // namespace slm::eval
