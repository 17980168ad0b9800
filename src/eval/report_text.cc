// The terminal table and the JSON report.
#include <fmt/format.h>

#include "eval/report.h"

namespace slm::eval {

namespace {
std::string cut(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "~"; }
}  // namespace

std::string report_table(const EvalReport& r) {
  const bool label = r.task.kind == OutputKind::label, js = r.task.kind == OutputKind::json;
  std::string out = fmt::format("task {} ({}): {} train, {} held-out{}\n", r.task.name, output_kind_name(r.task.kind),
                                r.n_train, r.n_eval,
                                r.contaminated ? fmt::format(", {} held-out inputs also in train (near-duplicates)", r.contaminated) : "");
  out += fmt::format("{:<36} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10} {:>5}\n", "candidate", label ? "accuracy" : "exact",
                     label ? "macro-F1" : js ? "field-F1" : "-", label ? "ECE" : js ? "valid" : "-", "p50 ms", "p95 ms",
                     "p99 ms", "tok/s", "$/1k req", "bar");
  for (const CandidateReport& c : r.candidates) {
    if (!c.applicable) {
      out += fmt::format("{:<36} {:>8}\n", cut(c.name, 36), "n/a");
      continue;
    }
    const double acc = c.classification ? c.classification->accuracy : c.exact_match;
    const double f1 = c.primary();
    const double third = c.calibration ? c.calibration->ece : c.extraction ? c.extraction->validity : 0.0;
    out += fmt::format("{:<36} {:>8.3f} {:>8.3f} {:>8.3f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.1f} {:>10.4f} {:>5}\n",
                       cut(c.name, 36), acc, f1, third, c.latency.p50, c.latency.p95, c.latency.p99, c.tokens_per_s,
                       c.cost_per_1k, c.meets_bar ? "pass" : "FAIL");
    if (c.n_errors) out += fmt::format("  {} request errors, first: {}\n", c.n_errors, [&] {
                             for (const auto& p : c.predictions)
                               if (!p.error.empty()) return p.error;
                             return std::string();
                           }());
  }
  out += "Does this task need a language model? " + r.verdict + "\n";
  return out;
}

nlohmann::json report_json(const EvalReport& r, bool with_predictions) {
  nlohmann::json cands = nlohmann::json::array();
  for (const CandidateReport& c : r.candidates) {
    nlohmann::json j = {{"name", c.name}, {"kind", c.kind}, {"applicable", c.applicable}};
    if (c.applicable) {
      j["errors"] = c.n_errors;
      j["exact_match"] = c.exact_match;
      j["latency"] = to_json(c.latency);
      j["tokens_per_s"] = c.tokens_per_s;
      j["cost_per_1k"] = c.cost_per_1k;
      j["setup_s"] = c.setup_s;
      j["meets_bar"] = c.meets_bar;
      j["bar_failures"] = c.bar_failures;
      if (c.classification) j["classification"] = to_json(*c.classification);
      if (c.calibration) j["calibration"] = to_json(*c.calibration);
      if (c.extraction) j["extraction"] = to_json(*c.extraction);
      if (with_predictions) {
        nlohmann::json ps = nlohmann::json::array();
        for (const Prediction& p : c.predictions)
          ps.push_back({{"output", p.output}, {"label", p.label}, {"probs", p.probs}, {"latency_ms", p.latency_ms},
                        {"error", p.error}});
        j["predictions"] = ps;
      }
    }
    cands.push_back(j);
  }
  return {{"task", r.task.name}, {"kind", output_kind_name(r.task.kind)}, {"labels", r.task.labels},
          {"n_train", r.n_train}, {"n_eval", r.n_eval}, {"contaminated", r.contaminated},
          {"candidates", cands}, {"needs_language_model", r.needs_lm}, {"verdict", r.verdict}};
}

}  // namespace slm::eval
