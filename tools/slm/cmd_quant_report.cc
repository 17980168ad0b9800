// `slm quant-report --base BASE.gguf --quant Q.gguf (--text FILE | --task TASK.yaml) [--max-kld X] [--json]`:
// how far a quantised model is from its base. With --text: perplexity, KL divergence, top-1 agreement. With
// --task: accuracy of both on the held-out set, flips, answer-position KL, and the task's quality bar as a
// gate. A failed gate exits 3 and names the bar on stderr.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "eval/contract.h"
#include "eval/harness.h"
#include "eval/quant_task.h"
#include "model/quant_report.h"
#include "tokenizer/tokenizer.h"

namespace slm::cli {

namespace {

struct Options {
  std::string base, quant, text, task;
  bool json = false, predictions = false, quiet = false;
  double max_kld = -1;
  int n_ctx = 256, chunks = 0;
  size_t limit = 0;
};

constexpr int kGateFailed = 3;

void report_text(const Options& o) {
  std::ifstream f(o.text, std::ios::binary);
  if (!f) fail("[quant-report] cannot open {}", o.text);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const model::Model base = model::Model::load(o.base), quant = model::Model::load(o.quant);
  if (base.gguf() == nullptr) fail("[quant-report] {}: a GGUF model is required", o.base);
  const tok::Tokenizer t = tok::Tokenizer::from_gguf(*base.gguf());
  std::vector<int32_t> ids;
  for (tok::TokenId id : t.encode(text)) ids.push_back(int32_t(id));
  const model::QuantReport r = model::quant_report(base, quant, ids, {.n_ctx = o.n_ctx, .max_chunks = o.chunks});
  const bool over = o.max_kld >= 0 && r.kld_mean > o.max_kld;
  if (o.json) {
    nlohmann::json j = r.to_json();
    j["base"] = o.base, j["quant"] = o.quant;
    if (o.max_kld >= 0) j["max_kld"] = o.max_kld, j["pass"] = !over;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%-16s %12s %12s\n", "", "base", "quantised");
    std::printf("%-16s %12.4f %12.4f\n", "perplexity", r.ppl_base, r.ppl_quant);
    std::printf("positions        %lld\n", (long long)r.n_positions);
    std::printf("KLD mean         %.6f\nKLD median       %.6f\nKLD p99          %.6f\nKLD max          %.6f\n",
                r.kld_mean, r.kld_median, r.kld_p99, r.kld_max);
    std::printf("top-1 agreement  %.2f%%\n", 100.0 * r.top1_agreement);
    if (o.max_kld >= 0) std::printf("gate: mean KLD %s %.6f: %s\n", over ? ">" : "<=", o.max_kld, over ? "FAIL" : "pass");
  }
  if (over) {
    std::fflush(stdout);
    std::fprintf(stderr, "quant-report: gate failed: mean KL divergence %.6g > %.6g (--max-kld)\n", r.kld_mean, o.max_kld);
    std::exit(kGateFailed);
  }
}

void report_task(const Options& o) {
  const eval::TaskContract task = eval::load_contract(o.task);
  const eval::EvalData data = eval::load_eval_data(task, o.limit);
  auto base = eval::make_local_candidate(task, o.base, "", /*keep_answer_logits=*/true);
  auto quant = eval::make_local_candidate(task, o.quant, "", /*keep_answer_logits=*/true);
  eval::QuantTaskOptions opt;
  if (o.max_kld >= 0) opt.max_kld = o.max_kld;
  if (!o.quiet)
    opt.progress = [](const std::string& name, size_t done, size_t total) {
      if (done == total || done % 25 == 0)
        std::fprintf(stderr, "\r%s: %zu/%zu%s", name.c_str(), done, total, done == total ? "\n" : "");
    };
  const eval::QuantTaskReport r = eval::quant_task_report(task, data, *base, *quant, opt);
  if (o.json) {
    nlohmann::json j = r.to_json(o.predictions);
    j["base"]["path"] = o.base, j["quant"]["path"] = o.quant;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s", eval::quant_task_table(r).c_str());
  }
  if (!r.pass()) {
    std::fflush(stdout);
    for (const std::string& f : r.failures) std::fprintf(stderr, "quant-report: gate failed: %s\n", f.c_str());
    std::exit(kGateFailed);
  }
}

}  // namespace

void register_quant_report(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "quant-report",
      "Compare a quantised model with its base model, on text (perplexity, KL divergence, top-1 agreement) or on "
      "a task (accuracy of both, answers that flip, KL divergence at the answer position). Gate: exit 3 when a "
      "bar fails (--max-kld; with --task also the task's quality.max_kl, min_accuracy and min_f1, applied to "
      "the quantised model), the failed bar named on stderr; exit 1 on bad input");
  cmd->add_option("--base", opt->base, "Base model GGUF")->required();
  cmd->add_option("--quant", opt->quant, "Quantised model GGUF")->required();
  auto* text = cmd->add_option("--text", opt->text, "Evaluation text file");
  auto* task = cmd->add_option("--task", opt->task, "Task contract (YAML): score both models on its held-out set");
  text->excludes(task);
  cmd->add_option("--limit", opt->limit, "With --task: only the first N held-out rows");
  cmd->add_option("-c,--ctx", opt->n_ctx, "With --text: tokens per chunk")->capture_default_str();
  cmd->add_option("--chunks", opt->chunks, "With --text: chunks to evaluate (0: all)");
  cmd->add_option("--max-kld", opt->max_kld,
                  "Fail (exit 3) when the mean KL divergence exceeds this (with --task: replaces quality.max_kl)");
  cmd->add_flag("--json", opt->json, "Print one JSON object");
  cmd->add_flag("--predictions", opt->predictions, "With --task --json: include both models' predictions");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress on stderr");
  cmd->callback([opt] {
    if (!opt->task.empty()) return report_task(*opt);
    if (opt->text.empty()) fail("[quant-report] give --text FILE or --task TASK.yaml");
    report_text(*opt);
  });
}

}  // namespace slm::cli
