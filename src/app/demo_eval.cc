// Demo steps 4 and 5: the base model (few-shot) and the fine-tuned model (base + LoRA) against the classic
// baseline on the held-out mails; then Q8_0 and Q4_K_M quantisations of the merged model through the
// task's quality gate (accuracy, answer flips, KL divergence at the answer position).
#include <filesystem>

#include "app/demo_steps.h"
#include "core/error.h"
#include "eval/contract.h"
#include "eval/harness.h"
#include "eval/quant_task.h"
#include "eval/report.h"
#include "io/gguf.h"
#include "model/quantize_model.h"

namespace slm::app {

namespace fs = std::filesystem;

namespace {

eval::Progress progress_for(std::vector<std::unique_ptr<ProgressLine>>& lines) {
  return [&lines](const std::string& name, size_t done, size_t total) {
    if (lines.empty() || lines.back()->label() != name) lines.push_back(std::make_unique<ProgressLine>(name));
    lines.back()->update(done, total);
  };
}

json candidate_summary(const eval::CandidateReport& c) {
  json j = {{"name", c.name}, {"kind", c.kind}, {"errors", c.n_errors}, {"meets_bar", c.meets_bar},
            {"latency_ms", eval::to_json(c.latency)}};
  if (c.classification) j["accuracy"] = c.classification->accuracy, j["macro_f1"] = c.classification->macro_f1;
  if (c.calibration) j["ece"] = c.calibration->ece;
  return j;
}

// Compact per-mail answers ("s", "h", "-" for none) to compare runs of the same model.
std::string answers(const eval::CandidateReport& c) {
  std::string s;
  for (const eval::Prediction& p : c.predictions) s += p.label < 0 || p.output.empty() ? '-' : p.output[0];
  return s;
}

}  // namespace

json step_eval(const DemoPlan& p, const std::string& model_dir, const std::string& ft_dir, const std::string& dir) {
  const fs::path task_dir = fs::path(ft_dir) / "task", d(dir);
  const eval::TaskContract task = eval::load_contract((task_dir / "task.yaml").string());
  const eval::TaskContract fewshot = eval::load_contract((task_dir / "fewshot.yaml").string());
  const eval::EvalData data = eval::load_eval_data(task, p.eval_limit);
  const eval::EvalData fdata = eval::load_eval_data(fewshot, p.eval_limit);
  const std::string base = (fs::path(model_dir) / "base.gguf").string();
  std::fprintf(stderr, "  %zu held-out mails, %zu train mails for the baseline\n", data.inputs.size(), data.train.size());

  std::vector<std::unique_ptr<ProgressLine>> lines;
  std::vector<std::unique_ptr<eval::Candidate>> ft;
  ft.push_back(eval::make_local_candidate(task, base, (fs::path(ft_dir) / "adapter.gguf").string()));
  eval::EvalReport r = eval::run_eval(task, data, ft, progress_for(lines));
  r.candidates.back().name = "fine-tuned (base + LoRA)";

  std::vector<std::unique_ptr<eval::Candidate>> b;
  b.push_back(eval::make_local_candidate(fewshot, base));
  eval::EvalReport rb = eval::run_eval(fewshot, fdata, b, progress_for(lines));
  eval::CandidateReport base_report = std::move(rb.candidates.back());
  base_report.name = "base (2-shot)";
  r.candidates.insert(r.candidates.begin() + 1, std::move(base_report));
  eval::decide(r);

  write_text((d / "eval.json").string(), eval::report_json(r, true).dump(2) + "\n");
  write_text((d / "eval.html").string(), eval::report_html(r));
  const std::string table = eval::report_table(r);
  write_text((d / "eval.txt").string(), table);
  std::fprintf(stderr, "%s", table.c_str());
  json cands = json::array();
  for (const eval::CandidateReport& c : r.candidates) cands.push_back(candidate_summary(c));
  return {{"n_eval", r.n_eval}, {"n_train", r.n_train}, {"candidates", cands}, {"verdict", r.verdict},
          {"needs_lm", r.needs_lm}, {"outputs", {"eval.json", "eval.html", "eval.txt"}}};
}

json step_quantise(const DemoPlan& p, const std::string& ft_dir, const std::string& dir) {
  const fs::path d(dir);
  const std::string merged = (fs::path(ft_dir) / "merged.gguf").string();
  const eval::TaskContract task = eval::load_contract((fs::path(ft_dir) / "task" / "task.yaml").string());
  const eval::EvalData data = eval::load_eval_data(task, p.gate_limit);
  std::vector<std::unique_ptr<ProgressLine>> lines;
  json types = json::array(), outputs = json::array();
  json chosen = {{"type", "F32"}, {"path", merged}};
  const gguf::File in = gguf::File::open(merged);
  for (const char* type : {"Q8_0", "Q4_K_M"}) {
    const std::string name = fmt::format("merged-{}.gguf", type), path = (d / name).string();
    model::QuantizeOptions qo{.file_type = type, .n_threads = p.threads};
    const model::QuantizeReport q = model::quantize_model(in, path, qo);
    std::fprintf(stderr, "  %s: %.2f MB -> %.2f MB (%d tensors fell back to another type)\n", type,
                 double(q.bytes_in) / 1e6, double(q.bytes_out) / 1e6, q.n_fallback);
    auto base_c = eval::make_local_candidate(task, merged, "", true);
    auto quant_c = eval::make_local_candidate(task, path, "", true);
    const eval::QuantTaskReport g =
        eval::quant_task_report(task, data, *base_c, *quant_c, {.progress = progress_for(lines)});
    std::fprintf(stderr, "%s", eval::quant_task_table(g).c_str());
    json t = {{"type", type}, {"file", name}, {"bytes", fs::file_size(path)}, {"fallbacks", q.n_fallback},
              {"accuracy_f32", g.accuracy_base}, {"accuracy", g.accuracy_quant}, {"right_to_wrong", g.right_to_wrong},
              {"wrong_to_right", g.wrong_to_right}, {"kld", eval::to_json(g.kld)}, {"pass", g.pass()},
              {"failures", g.failures}, {"answers", answers(g.quant)}, {"answers_f32", answers(g.base)}};
    if (g.label_kld_mean) t["label_kld_mean"] = *g.label_kld_mean;
    if (chosen["type"] == "F32") chosen["answers"] = t["answers_f32"], chosen["accuracy"] = g.accuracy_base;
    // No task loss: KL within the bar and accuracy within half a point of the F32 model's. When the F32 model
    // itself misses the contract's accuracy bar, no type can pass the gate; then the smallest type without
    // task loss is served, and the report says the bar was not met.
    const bool no_loss = g.kld.mean <= task.quality.max_kl.value_or(1e9) && g.accuracy_quant >= g.accuracy_base - 0.005;
    t["no_task_loss"] = no_loss;
    const bool f32_misses = task.quality.min_accuracy && g.accuracy_base < *task.quality.min_accuracy;
    // Types are tried largest first, so the last one accepted is the smallest.
    if (g.pass() || (f32_misses && no_loss))
      chosen = {{"type", type}, {"path", path}, {"answers", t["answers"]}, {"accuracy", g.accuracy_quant},
                {"gate", g.pass() ? "pass" : "no task loss (the F32 model misses the contract's accuracy bar too)"}};
    types.push_back(t);
    outputs.push_back(name);
  }
  chosen["n"] = data.inputs.size();
  std::fprintf(stderr, "  chosen: %s\n", chosen["type"].get<std::string>().c_str());
  return {{"types", types}, {"chosen", chosen}, {"n_eval", data.inputs.size()},
          {"bar", {{"min_accuracy", task.quality.min_accuracy.value_or(0)}, {"max_kl", task.quality.max_kl.value_or(0)}}},
          {"outputs", outputs}};
}

}  // namespace slm::app
