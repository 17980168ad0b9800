// Quantisation on a task: both models through the harness's scoring, flips, answer-position KL and the gate.
#include "eval/quant_task.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/metrics.h"

namespace slm::eval {

namespace {

// KL(p || q) of two logit rows, softmax taken here (in double).
double kl_logits(std::span<const float> a, std::span<const float> b) {
  auto log_softmax = [](std::span<const float> x) {
    double mx = -INFINITY;
    for (float v : x) mx = std::max(mx, double(v));
    double s = 0;
    for (float v : x) s += std::exp(double(v) - mx);
    std::vector<double> out(x.size());
    const double lse = mx + std::log(s);
    for (size_t i = 0; i < x.size(); ++i) out[i] = double(x[i]) - lse;
    return out;
  };
  const std::vector<double> la = log_softmax(a), lb = log_softmax(b);
  double d = 0;
  for (size_t i = 0; i < la.size(); ++i) d += std::exp(la[i]) * (la[i] - lb[i]);
  return std::max(d, 0.0);
}

// KL(p || q) of two probability vectors; q's zeros are floored so the result stays finite.
double kl_probs(const std::vector<double>& p, const std::vector<double>& q) {
  double d = 0;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0) d += p[i] * (std::log(p[i]) - std::log(std::max(q[i], 1e-300)));
  return std::max(d, 0.0);
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// Whether one prediction is right, by the same rule the harness's accuracy uses.
bool is_right(const TaskContract& t, const EvalData& d, size_t i, const Prediction& p) {
  if (t.kind == OutputKind::label) return p.error.empty() && p.label == d.truth[i];
  return trim(p.output) == trim(d.expected[i]);
}

double accuracy_of(const CandidateReport& c) { return c.classification ? c.classification->accuracy : c.exact_match; }

void apply_gate(const TaskContract& t, const QuantTaskOptions& opt, QuantTaskReport& r) {
  r.max_kld = opt.max_kld ? opt.max_kld : t.quality.max_kl;
  r.max_kld_from = opt.max_kld ? "--max-kld" : "task quality.max_kl";
  r.min_accuracy = t.quality.min_accuracy;
  if (t.kind != OutputKind::text) r.min_f1 = t.quality.min_f1;
  if (r.max_kld) {
    if (r.kld.n == 0)
      r.failures.push_back(fmt::format("KL divergence not measured (no example had answer logits from both models); "
                                       "bar {:.6g} ({})", *r.max_kld, r.max_kld_from));
    else if (r.kld.mean > *r.max_kld)
      r.failures.push_back(fmt::format("mean KL divergence {:.6g} > {:.6g} ({})", r.kld.mean, *r.max_kld, r.max_kld_from));
  }
  if (r.min_accuracy && r.accuracy_quant < *r.min_accuracy)
    r.failures.push_back(fmt::format("quantised accuracy {:.4f} < {:.4f} (task quality.min_accuracy)", r.accuracy_quant,
                                     *r.min_accuracy));
  if (r.min_f1 && r.quant.primary() < *r.min_f1)
    r.failures.push_back(fmt::format("quantised {} {:.4f} < {:.4f} (task quality.min_f1)",
                                     t.kind == OutputKind::label ? "macro-F1" : "field F1", r.quant.primary(), *r.min_f1));
}

}  // namespace

nlohmann::json to_json(const KlStats& k) {
  return {{"n", k.n}, {"mean", k.mean}, {"median", k.median}, {"p99", k.p99}, {"max", k.max}};
}

QuantTaskReport quant_task_report(const TaskContract& t, const EvalData& d, Candidate& base, Candidate& quant,
                                  const QuantTaskOptions& opt) {
  QuantTaskReport r;
  r.task = t.name, r.kind = t.kind, r.n_eval = d.inputs.size();
  std::vector<Prediction> pb, pq;
  std::vector<double> kld;
  double label_kld = 0;
  size_t n_label_kld = 0;
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    Prediction a = base.predict(d.inputs[i]), b = quant.predict(d.inputs[i]);
    if (!a.answer_logits.empty() && !b.answer_logits.empty()) {
      if (a.answer_logits.size() != b.answer_logits.size())
        fail("[quant-report] the models' vocabularies differ: {} and {} logits", a.answer_logits.size(),
             b.answer_logits.size());
      kld.push_back(kl_logits(a.answer_logits, b.answer_logits));
    }
    if (t.kind == OutputKind::label && a.probs.size() == t.labels.size() && b.probs.size() == t.labels.size())
      label_kld += kl_probs(a.probs, b.probs), ++n_label_kld;
    a.answer_logits = {}, b.answer_logits = {};  // a vocabulary-sized row per example is not kept
    pb.push_back(std::move(a)), pq.push_back(std::move(b));
    if (opt.progress) opt.progress(base.name() + "+" + quant.name(), i + 1, d.inputs.size());
  }
  for (size_t i = 0; i < pb.size(); ++i) {
    const bool rb = is_right(t, d, i, pb[i]), rq = is_right(t, d, i, pq[i]);
    r.right_to_wrong += rb && !rq;
    r.wrong_to_right += !rb && rq;
    r.changed += t.kind == OutputKind::label ? pb[i].label != pq[i].label : trim(pb[i].output) != trim(pq[i].output);
  }
  r.base = score_candidate(t, d, base.name(), base.kind(), std::move(pb), base.kind() != "endpoint");
  r.quant = score_candidate(t, d, quant.name(), quant.kind(), std::move(pq), quant.kind() != "endpoint");
  r.accuracy_base = accuracy_of(r.base), r.accuracy_quant = accuracy_of(r.quant);
  if (!kld.empty()) {
    r.kld.n = kld.size();
    for (double k : kld) r.kld.mean += k / double(kld.size());
    r.kld.median = percentile(kld, 50), r.kld.p99 = percentile(kld, 99);
    r.kld.max = *std::max_element(kld.begin(), kld.end());
  }
  if (n_label_kld > 0) r.label_kld_mean = label_kld / double(n_label_kld);
  apply_gate(t, opt, r);
  return r;
}

nlohmann::json QuantTaskReport::to_json(bool with_predictions) const {
  auto side = [&](const CandidateReport& c, double acc) {
    nlohmann::json j = {{"name", c.name}, {"accuracy", acc}, {"primary", c.primary()}, {"errors", c.n_errors}};
    if (c.classification) j["classification"] = eval::to_json(*c.classification);
    if (c.extraction) j["extraction"] = eval::to_json(*c.extraction);
    if (with_predictions) {
      nlohmann::json ps = nlohmann::json::array();
      for (const Prediction& p : c.predictions)
        ps.push_back({{"output", p.output}, {"label", p.label}, {"probs", p.probs}, {"error", p.error}});
      j["predictions"] = ps;
    }
    return j;
  };
  nlohmann::json bars = nlohmann::json::object();
  if (max_kld) bars["max_kld"] = *max_kld, bars["max_kld_from"] = max_kld_from;
  if (min_accuracy) bars["min_accuracy"] = *min_accuracy;
  if (min_f1) bars["min_f1"] = *min_f1;
  nlohmann::json j = {{"task", task},
                      {"kind", output_kind_name(kind)},
                      {"n_eval", n_eval},
                      {"base", side(base, accuracy_base)},
                      {"quant", side(quant, accuracy_quant)},
                      {"flips", {{"right_to_wrong", right_to_wrong}, {"wrong_to_right", wrong_to_right}, {"changed", changed}}},
                      {"kld", eval::to_json(kld)},
                      {"bars", bars},
                      {"failures", failures},
                      {"pass", pass()}};
  if (label_kld_mean) j["label_kld_mean"] = *label_kld_mean;
  return j;
}

std::string quant_task_table(const QuantTaskReport& r) {
  const bool label = r.kind == OutputKind::label;
  std::string out = fmt::format("task {} ({}): {} held-out examples\n", r.task, output_kind_name(r.kind), r.n_eval);
  out += fmt::format("{:<22} {:>12} {:>12}\n", "", "base", "quantised");
  out += fmt::format("{:<22} {:>12} {:>12}\n", "model", r.base.name.substr(0, 12), r.quant.name.substr(0, 12));
  out += fmt::format("{:<22} {:>12.4f} {:>12.4f}\n", label ? "accuracy" : "exact match", r.accuracy_base, r.accuracy_quant);
  if (r.kind != OutputKind::text)
    out += fmt::format("{:<22} {:>12.4f} {:>12.4f}\n", label ? "macro-F1" : "field F1", r.base.primary(), r.quant.primary());
  if (r.base.n_errors || r.quant.n_errors) {
    out += fmt::format("{:<22} {:>12} {:>12}\n", "errors", r.base.n_errors, r.quant.n_errors);
    for (const CandidateReport* c : {&r.base, &r.quant})
      for (const Prediction& p : c->predictions)
        if (!p.error.empty()) {
          out += fmt::format("  first error ({}): {} (counted as a wrong answer)\n", c->name, p.error);
          break;
        }
  }
  out += fmt::format("flips                  {} right->wrong, {} wrong->right ({} answers changed)\n", r.right_to_wrong,
                     r.wrong_to_right, r.changed);
  if (r.kld.n > 0)
    out += fmt::format("answer-position KLD    mean {:.6f}  median {:.6f}  p99 {:.6f}  max {:.6f}  ({} examples)\n",
                       r.kld.mean, r.kld.median, r.kld.p99, r.kld.max, r.kld.n);
  if (r.label_kld_mean) out += fmt::format("label-choice KLD mean  {:.6f}\n", *r.label_kld_mean);
  std::vector<std::string> bars;
  if (r.max_kld) bars.push_back(fmt::format("mean KLD <= {:.6g} ({})", *r.max_kld, r.max_kld_from));
  if (r.min_accuracy) bars.push_back(fmt::format("accuracy >= {:.4g}", *r.min_accuracy));
  if (r.min_f1) bars.push_back(fmt::format("F1 >= {:.4g}", *r.min_f1));
  if (bars.empty()) return out + "gate: no bar set (task quality or --max-kld)\n";
  out += "gate:";
  for (size_t i = 0; i < bars.size(); ++i) out += (i ? ", " : " ") + bars[i];
  out += std::string(": ") + (r.pass() ? "pass" : "FAIL") + "\n";
  for (const std::string& f : r.failures) out += "  failed: " + f + "\n";
  return out;
}

}  // namespace slm::eval
