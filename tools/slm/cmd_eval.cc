// `slm eval`: a task's candidates (the baseline, local GGUF models, OpenAI-compatible endpoints) side by
// side on its held-out set; a terminal table, --json and a self-contained --html report.
#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "eval/contract.h"
#include "eval/harness.h"
#include "eval/report.h"

namespace slm::cli {

void register_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "evaluate models and endpoints on a task's held-out set");
  struct Opts {
    std::string task, html, json_out;
    std::vector<std::string> models, loras, endpoints;
    size_t limit = 0;
    bool json = false, check = false, predictions = false, quiet = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--task", o->task, "task contract (YAML, docs/TASKS.md)")->required();
  cmd->add_option("-m,--model", o->models, "local GGUF model (repeatable)");
  cmd->add_option("--lora", o->loras, "LoRA adapter for the model at the same position (repeatable)");
  cmd->add_option("--endpoint", o->endpoints, "OpenAI-compatible endpoint URL[,KEY_ENV[,MODEL]] (repeatable)");
  cmd->add_option("--limit", o->limit, "evaluate only the first N held-out rows");
  cmd->add_flag("--json", o->json, "print the report as JSON instead of the table");
  cmd->add_option("--json-out", o->json_out, "also write the JSON report (with predictions) to this file");
  cmd->add_option("--html", o->html, "write the self-contained HTML report to this file");
  cmd->add_flag("--predictions", o->predictions, "include every prediction in --json output");
  cmd->add_flag("--check", o->check, "only validate the contract and its data, then exit");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress on stderr");
  cmd->callback([o] {
    const eval::TaskContract task = eval::load_contract(o->task);
    const eval::EvalData data = eval::load_eval_data(task, o->limit);
    if (o->check) {
      std::printf("task %s: ok (%s output, %zu train rows, %zu held-out rows, %zu held-out inputs near train)\n",
                  task.name.c_str(), eval::output_kind_name(task.kind), data.train.size(), data.expected.size(),
                  data.contaminated);
      return;
    }
    if (o->loras.size() > o->models.size()) fail("[eval] {} --lora for {} --model", o->loras.size(), o->models.size());
    std::vector<std::unique_ptr<eval::Candidate>> cands;
    for (size_t i = 0; i < o->models.size(); ++i)
      cands.push_back(eval::make_local_candidate(task, o->models[i], i < o->loras.size() ? o->loras[i] : ""));
    for (const std::string& e : o->endpoints) cands.push_back(eval::make_endpoint_candidate(task, eval::parse_endpoint_spec(e)));
    eval::Progress progress;
    if (!o->quiet)
      progress = [](const std::string& name, size_t done, size_t total) {
        if (done == total || done % 25 == 0) std::fprintf(stderr, "\r%s: %zu/%zu%s", name.c_str(), done, total, done == total ? "\n" : "");
      };
    const eval::EvalReport report = eval::run_eval(task, data, cands, progress);
    if (o->json) std::printf("%s\n", eval::report_json(report, o->predictions).dump(2).c_str());
    else std::printf("%s", eval::report_table(report).c_str());
    auto write = [](const std::string& path, const std::string& text) {
      std::ofstream out(path, std::ios::binary);
      if (!(out << text)) fail("[eval] cannot write '{}'", path);
    };
    if (!o->json_out.empty()) write(o->json_out, eval::report_json(report, true).dump(2) + "\n");
    if (!o->html.empty()) write(o->html, eval::report_html(report));
  });
}

}  // namespace slm::cli
