// `slm demo`: the main job on the built-in default (src/app/demo.h): SpamAssassin mails -> a served, evaluated
// spam classifier built from a model pretrained here, every step cached under --workdir.
#include <cstdio>
#include <memory>

#include "app/demo.h"
#include "commands.h"

namespace slm::cli {

void register_demo(CLI::App& app) {
  auto o = std::make_shared<app::DemoOptions>();
  auto* cmd = app.add_subcommand("demo", "the main job: raw mails -> fine-tuned, evaluated, quantised, served model + report");
  cmd->add_option("--workdir", o->workdir, "working folder (every step is cached here)")->capture_default_str();
  cmd->add_flag("--quick", o->quick, "a much smaller run (tiny model, few steps, ~100 held-out mails), for CI");
  cmd->add_flag("--force", o->force, "run every step again, ignoring the cache");
  cmd->add_option("--node-modules", o->node_modules, "where npm put the data packages")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "training threads (0 = all cores)");
  cmd->callback([o] {
    const app::DemoResult r = app::run_demo(*o);
    const auto& s = r.report["summary"];
    auto num = [&](const char* k) { return s.contains(k) && s[k].is_number() ? s[k].get<double>() : 0.0; };
    std::printf("held-out accuracy: fine-tuned %.4f, base (2-shot) %.4f, classic baseline %.4f (%.0f mails)\n",
                num("finetuned_accuracy"), num("base_accuracy"), num("baseline_accuracy"), num("n_eval"));
    std::printf("served %s: accuracy %.4f (offline %.4f) on %.0f mails, latency p50 %.1f ms p95 %.1f ms p99 %.1f ms\n",
                s.value("served_type", "?").c_str(), num("served_accuracy"), num("served_offline_accuracy"),
                num("served_n"), num("served_p50_ms"), num("served_p95_ms"), num("served_p99_ms"));
    std::printf("report: %s\n        %s\n", r.report_html.c_str(), r.report_json.c_str());
  });
}

}  // namespace slm::cli
