// Harness: data checks, running candidates, scoring and the verdict.
#include "eval/harness.h"

#include <chrono>

#include "core/error.h"
#include "data/dedup.h"

namespace slm::eval {

namespace {
using Clock = std::chrono::steady_clock;

std::vector<data::Row> read_all(const std::vector<std::string>& paths) {
  std::vector<data::Row> out;
  for (const auto& p : paths) {
    auto rows = data::read_rows(p);
    out.insert(out.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
  }
  return out;
}
}  // namespace

EvalData load_eval_data(const TaskContract& t, size_t limit) {
  EvalData d;
  d.train = read_all(t.data.train);
  d.eval = data::read_rows(t.data.eval);
  if (limit > 0 && d.eval.size() > limit) d.eval.resize(limit);
  if (d.eval.empty()) fail("[eval] held-out set '{}' is empty", t.data.eval);
  std::vector<std::string> train_inputs;
  for (const data::Row& r : d.train) train_inputs.push_back(render_input(t, r));
  for (size_t i = 0; i < d.eval.size(); ++i) {
    const data::Row& r = d.eval[i];
    if ((r.contains("synthetic") && r["synthetic"] == true) || (r.contains("source") && r["source"] == "synthetic"))
      fail("[eval] {}: row {} is synthetic; the held-out set must be real data", t.data.eval, i + 1);
    d.inputs.push_back(render_input(t, r));
    d.expected.push_back(expected_output(t, r));
    if (t.kind == OutputKind::label) {
      const auto it = std::find(t.labels.begin(), t.labels.end(), d.expected.back());
      if (it == t.labels.end()) fail("[eval] {}: row {} has label '{}' outside the task's labels", t.data.eval, i + 1, d.expected.back());
      d.truth.push_back(int(it - t.labels.begin()));
    } else if (t.kind == OutputKind::json && nlohmann::json::parse(d.expected.back(), nullptr, false).is_discarded()) {
      fail("[eval] {}: row {} output is not valid JSON", t.data.eval, i + 1);
    }
  }
  d.contaminated = data::contaminated(train_inputs, d.inputs).size();
  return d;
}

double CandidateReport::primary() const {
  if (classification) return classification->macro_f1;
  if (extraction) return extraction->total.f1();
  return exact_match;
}

CandidateReport score_candidate(const TaskContract& t, const EvalData& d, std::string name, std::string kind,
                                std::vector<Prediction> preds, bool local) {
  if (preds.size() != d.expected.size()) fail("[eval] {} predictions for {} examples", preds.size(), d.expected.size());
  CandidateReport c;
  c.name = std::move(name), c.kind = std::move(kind);
  std::vector<std::string> outs;
  std::vector<double> lat;
  double prompt_toks = 0, comp_toks = 0, total_ms = 0;
  for (const Prediction& p : preds) {
    c.n_errors += !p.error.empty();
    outs.push_back(p.output);
    lat.push_back(p.latency_ms);
    prompt_toks += p.prompt_tokens, comp_toks += p.completion_tokens, total_ms += p.latency_ms;
  }
  const double n = double(preds.size());
  c.exact_match = exact_match(outs, d.expected);
  c.latency = latency_stats(lat);
  c.tokens_per_s = tokens_per_second(comp_toks, total_ms / 1000.0);
  const Price pr = price_for(t, c.name, local);
  c.cost_per_1k = cost_per_1k(prompt_toks / n, comp_toks / n, pr.input_per_mtok, pr.output_per_mtok, c.latency.mean, pr.per_hour);
  if (t.kind == OutputKind::label) {
    std::vector<int> pred;
    std::vector<double> conf;
    std::vector<bool> ok;
    for (size_t i = 0; i < preds.size(); ++i) {
      const Prediction& p = preds[i];
      pred.push_back(p.error.empty() ? p.label : -1);
      const bool have = pred.back() >= 0 && p.probs.size() == t.labels.size();
      conf.push_back(have ? p.probs[size_t(p.label)] : 0.0);
      ok.push_back(pred.back() == d.truth[i]);
    }
    c.classification = classification_metrics(t.labels, d.truth, pred);
    c.calibration = calibration(conf, ok);
  } else if (t.kind == OutputKind::json) {
    c.extraction = extraction_metrics(outs, d.expected);
  }
  c.predictions = std::move(preds);
  // The quality bar (max_kl belongs to quantisation reports; it is not measured here).
  const QualityBar& q = t.quality;
  const double acc = c.classification ? c.classification->accuracy : c.exact_match;
  if (q.min_accuracy && acc < *q.min_accuracy) c.bar_failures.push_back(fmt::format("accuracy {:.3f} < {:.3f}", acc, *q.min_accuracy));
  if (q.min_f1 && t.kind != OutputKind::text && c.primary() < *q.min_f1)
    c.bar_failures.push_back(fmt::format("F1 {:.3f} < {:.3f}", c.primary(), *q.min_f1));
  if (t.serving.latency_ms > 0 && c.latency.p95 > t.serving.latency_ms)
    c.bar_failures.push_back(fmt::format("p95 latency {:.1f} ms > {:.1f} ms", c.latency.p95, t.serving.latency_ms));
  c.meets_bar = c.bar_failures.empty();
  return c;
}

void decide(EvalReport& r) {
  const TaskContract& t = r.task;
  if (t.kind != OutputKind::label) {
    r.needs_lm = true;
    r.verdict = fmt::format("Yes: the output is {}, which needs generation; the n-gram baseline cannot produce it.",
                            output_kind_name(t.kind));
    return;
  }
  const CandidateReport* base = nullptr;
  const CandidateReport* best = nullptr;
  for (const CandidateReport& c : r.candidates) {
    if (c.kind == "baseline") base = &c;
    else if (!best || c.primary() > best->primary() || (c.meets_bar && !best->meets_bar)) best = &c;
  }
  if (!base) {
    r.needs_lm = true, r.verdict = "Unknown: no baseline was run.";
    return;
  }
  const bool has_bar = t.quality.min_accuracy || t.quality.min_f1 || t.serving.latency_ms > 0;
  const std::string b = fmt::format("the baseline (accuracy {:.3f}, macro-F1 {:.3f})", base->classification->accuracy, base->primary());
  if (has_bar && base->meets_bar) {
    r.needs_lm = false, r.verdict = "No: " + b + " meets the quality bar.";
  } else if (!best) {
    r.needs_lm = false, r.verdict = "No model was compared; " + b + (base->meets_bar ? " meets" : " misses") + " the bar.";
  } else if (has_bar && best->meets_bar) {
    r.needs_lm = true;
    r.verdict = fmt::format("Yes: {} meets the quality bar (macro-F1 {:.3f}); {} does not.", best->name, best->primary(), b);
  } else if (has_bar) {
    r.needs_lm = best->primary() > base->primary();
    r.verdict = best->primary() > base->primary()
                    ? fmt::format("Not yet: no candidate meets the quality bar; {} (macro-F1 {:.3f}) beats {}.", best->name,
                                  best->primary(), b)
                    : fmt::format("Not yet: no candidate meets the quality bar; {} is ahead of the best model {} "
                                  "(macro-F1 {:.3f}).", b, best->name, best->primary());
  } else {
    r.needs_lm = best->primary() > base->primary() + 0.02;
    r.verdict = r.needs_lm ? fmt::format("Yes: {} beats {} by {:.3f} macro-F1 (no quality bar set).", best->name, b,
                                         best->primary() - base->primary())
                           : fmt::format("No: {} is within 0.02 macro-F1 of the best model {} (no quality bar set).", b, best->name);
  }
}

EvalReport run_eval(const TaskContract& t, const EvalData& d, std::vector<std::unique_ptr<Candidate>>& candidates,
                    const Progress& progress) {
  EvalReport r;
  r.task = t;
  r.n_train = d.train.size(), r.n_eval = d.expected.size(), r.contaminated = d.contaminated;
  auto run_one = [&](Candidate& c, double setup_s) {
    std::vector<Prediction> preds;
    for (size_t i = 0; i < d.inputs.size(); ++i) {
      preds.push_back(c.predict(d.inputs[i]));
      if (progress) progress(c.name(), i + 1, d.inputs.size());
    }
    CandidateReport cr = score_candidate(t, d, c.name(), c.kind(), std::move(preds), c.kind() != "endpoint");
    cr.setup_s = setup_s;
    return cr;
  };
  const auto t0 = Clock::now();
  auto base = make_baseline_candidate(t, d.train);
  const double train_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (t.kind == OutputKind::label) {
    r.candidates.push_back(run_one(*base, train_s));
  } else {
    CandidateReport na;
    na.name = base->name(), na.kind = "baseline", na.applicable = false;
    r.candidates.push_back(na);
  }
  for (auto& c : candidates) r.candidates.push_back(run_one(*c, 0.0));
  decide(r);
  return r;
}

}  // namespace slm::eval
