// Metric computations.
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace slm::eval {

ClassificationMetrics classification_metrics(const std::vector<std::string>& labels, const std::vector<int>& truth,
                                             const std::vector<int>& pred) {
  if (truth.size() != pred.size()) fail("[metrics] {} truths for {} predictions", truth.size(), pred.size());
  const size_t k = labels.size();
  ClassificationMetrics m;
  m.labels = labels;
  m.confusion.assign(k, std::vector<size_t>(k + 1, 0));
  size_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || size_t(truth[i]) >= k) fail("[metrics] truth {} out of range", truth[i]);
    if (pred[i] >= int(k)) fail("[metrics] prediction {} out of range", pred[i]);
    m.confusion[size_t(truth[i])][pred[i] < 0 ? k : size_t(pred[i])]++;
    correct += truth[i] == pred[i];
  }
  m.accuracy = truth.empty() ? 0.0 : double(correct) / double(truth.size());
  for (size_t c = 0; c < k; ++c) {
    size_t tp = m.confusion[c][c], predicted = 0, support = 0;
    for (size_t r = 0; r < k; ++r) predicted += m.confusion[r][c];
    for (size_t p = 0; p <= k; ++p) support += m.confusion[c][p];
    ClassStats s{.label = labels[c], .support = support};
    s.precision = predicted ? double(tp) / double(predicted) : 0.0;
    s.recall = support ? double(tp) / double(support) : 0.0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    m.macro_f1 += s.f1 / double(k);
    m.per_class.push_back(s);
  }
  return m;
}

Calibration calibration(const std::vector<double>& confidence, const std::vector<bool>& correct, int n_bins) {
  if (confidence.size() != correct.size()) fail("[metrics] {} confidences for {} outcomes", confidence.size(), correct.size());
  if (n_bins < 1) fail("[metrics] need at least one bin");
  Calibration c;
  c.bins.resize(size_t(n_bins));
  for (int b = 0; b < n_bins; ++b) c.bins[size_t(b)].lo = double(b) / n_bins, c.bins[size_t(b)].hi = double(b + 1) / n_bins;
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double p = std::clamp(std::isfinite(confidence[i]) ? confidence[i] : 0.0, 0.0, 1.0);
    ReliabilityBin& bin = c.bins[std::min(size_t(n_bins) - 1, size_t(p * n_bins))];
    ++bin.count, bin.confidence += p, bin.accuracy += correct[i] ? 1.0 : 0.0;
  }
  for (ReliabilityBin& b : c.bins) {
    if (!b.count) continue;
    b.confidence /= double(b.count), b.accuracy /= double(b.count);
    c.ece += double(b.count) / double(confidence.size()) * std::abs(b.accuracy - b.confidence);
  }
  return c;
}

namespace {
std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

void flatten(const nlohmann::json& j, const std::string& path, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  } else if (j.is_array() && !j.empty()) {
    for (size_t i = 0; i < j.size(); ++i) flatten(j[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out[path] = j;
  }
}

std::string top_field(const std::string& path) {
  const size_t e = path.find_first_of(".[");
  return e == std::string::npos ? path : path.substr(0, e);
}
}  // namespace

double exact_match(const std::vector<std::string>& pred, const std::vector<std::string>& truth) {
  if (pred.size() != truth.size()) fail("[metrics] {} predictions for {} truths", pred.size(), truth.size());
  if (pred.empty()) return 0.0;
  size_t n = 0;
  for (size_t i = 0; i < pred.size(); ++i) n += trim(pred[i]) == trim(truth[i]);
  return double(n) / double(pred.size());
}

double FieldCounts::precision() const { return tp + fp ? double(tp) / double(tp + fp) : 0.0; }
double FieldCounts::recall() const { return tp + fn ? double(tp) / double(tp + fn) : 0.0; }
double FieldCounts::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

ExtractionMetrics extraction_metrics(const std::vector<std::string>& pred, const std::vector<std::string>& truth) {
  if (pred.size() != truth.size()) fail("[metrics] {} predictions for {} truths", pred.size(), truth.size());
  ExtractionMetrics m;
  size_t valid = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const nlohmann::json t = nlohmann::json::parse(truth[i], nullptr, false);
    if (t.is_discarded()) fail("[metrics] reference {} is not valid JSON", i);
    std::map<std::string, nlohmann::json> tl, pl;
    flatten(t, "", tl);
    const nlohmann::json p = nlohmann::json::parse(pred[i], nullptr, false);
    if (!p.is_discarded()) ++valid, flatten(p, "", pl);
    for (const auto& [path, v] : tl) {
      auto it = pl.find(path);
      FieldCounts& f = m.per_field[top_field(path)];
      if (it != pl.end() && it->second == v) ++f.tp, ++m.total.tp;
      else ++f.fn, ++m.total.fn;
    }
    for (const auto& [path, v] : pl) {
      auto it = tl.find(path);
      if (it == tl.end() || it->second != v) ++m.per_field[top_field(path)].fp, ++m.total.fp;
    }
  }
  m.validity = pred.empty() ? 0.0 : double(valid) / double(pred.size());
  return m;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 100.0) / 100.0 * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

LatencyStats latency_stats(const std::vector<double>& ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  for (double x : ms) s.mean += x / double(ms.size()), s.max = std::max(s.max, x);
  s.p50 = percentile(ms, 50), s.p95 = percentile(ms, 95), s.p99 = percentile(ms, 99);
  return s;
}

double tokens_per_second(double tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; }

double cost_per_1k(double mean_prompt_tokens, double mean_completion_tokens, double input_per_mtok,
                   double output_per_mtok, double mean_latency_ms, double per_hour) {
  return 1000.0 * (mean_prompt_tokens * input_per_mtok / 1e6 + mean_completion_tokens * output_per_mtok / 1e6 +
                   mean_latency_ms / 3.6e6 * per_hour);
}

nlohmann::json to_json(const ClassificationMetrics& m) {
  nlohmann::json pc = nlohmann::json::array();
  for (const ClassStats& s : m.per_class)
    pc.push_back({{"label", s.label}, {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}});
  return {{"labels", m.labels}, {"accuracy", m.accuracy}, {"macro_f1", m.macro_f1}, {"per_class", pc},
          {"confusion", m.confusion}};
}

nlohmann::json to_json(const Calibration& c) {
  nlohmann::json bins = nlohmann::json::array();
  for (const ReliabilityBin& b : c.bins)
    bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"confidence", b.confidence}, {"accuracy", b.accuracy}});
  return {{"ece", c.ece}, {"bins", bins}};
}

nlohmann::json to_json(const ExtractionMetrics& m) {
  nlohmann::json f = nlohmann::json::object();
  for (const auto& [k, c] : m.per_field) f[k] = {{"precision", c.precision()}, {"recall", c.recall()}, {"f1", c.f1()}};
  return {{"json_validity", m.validity}, {"field_precision", m.total.precision()}, {"field_recall", m.total.recall()},
          {"field_f1", m.total.f1()}, {"per_field", f}};
}

nlohmann::json to_json(const LatencyStats& l) {
  return {{"mean_ms", l.mean}, {"p50_ms", l.p50}, {"p95_ms", l.p95}, {"p99_ms", l.p99}, {"max_ms", l.max}};
}

}  // namespace slm::eval
