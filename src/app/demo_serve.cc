// Demo step 6: the chosen model served in this process (slm's OpenAI server on 127.0.0.1, an ephemeral
// port, on its own thread); the held-out mails go through POST /v1/chat/completions with the labels as a
// `choice` response format (the eval harness's endpoint candidate), then the server stops. Live accuracy
// and latency percentiles, and the agreement with the offline scoring of the same model.
#include <filesystem>
#include <thread>

#include "app/demo_steps.h"
#include "core/error.h"
#include "eval/contract.h"
#include "eval/harness.h"
#include "serve/server.h"

namespace slm::app {

namespace fs = std::filesystem;

json step_serve(const DemoPlan& p, const std::string& ft_dir, const json& quant, const std::string& dir) {
  const eval::TaskContract task = eval::load_contract((fs::path(ft_dir) / "task" / "task.yaml").string());
  const json& chosen = quant.at("chosen");
  const eval::EvalData data = eval::load_eval_data(task, chosen.at("n").get<size_t>());
  serve::EngineOptions eo;
  eo.model_id = "spam-" + chosen.at("type").get<std::string>();
  std::string request_model;  // "" = the served model itself
  if (chosen.at("type") == "F32") {  // the base model with the adapter (slm serve --lora), chosen per request
    eo.model_path = (fs::path(ft_dir).parent_path() / "base" / "base.gguf").string();
    eo.loras.push_back({.path = (fs::path(ft_dir) / "adapter.gguf").string(), .scale = 1.0f, .name = "spam-lora"});
    request_model = "spam-lora";
  } else {  // quantised: the adapter was merged before quantisation
    eo.model_path = chosen.at("path").get<std::string>();
  }
  eo.scheduler.max_seqs = 4;
  serve::Engine engine(eo);
  serve::Server server(engine, {.host = "127.0.0.1", .port = 0});
  const int port = server.bind();
  std::thread th([&server] { server.run(); });
  std::fprintf(stderr, "  serving %s (%s%s) on http://127.0.0.1:%d\n", eo.model_id.c_str(), eo.model_path.c_str(),
               eo.loras.empty() ? "" : " + adapter.gguf as model 'spam-lora'", port);

  eval::EvalReport r;
  std::string error;
  try {
    std::vector<std::unique_ptr<eval::Candidate>> cands;
    cands.push_back(
        eval::make_endpoint_candidate(task, {.url = fmt::format("http://127.0.0.1:{}", port), .model = request_model}));
    std::unique_ptr<ProgressLine> line;
    r = eval::run_eval(task, data, cands, [&](const std::string& name, size_t done, size_t total) {
      if (!line || line->label() != name) line = std::make_unique<ProgressLine>(name);
      line->update(done, total);
    });
  } catch (const Error& e) {
    error = e.what();
  }
  server.stop(/*drain=*/true);
  th.join();
  if (!error.empty()) throw Error(error);

  const eval::CandidateReport& c = r.candidates.back();
  const std::string offline = chosen.value("answers", "");
  size_t agree = 0;
  for (size_t i = 0; i < c.predictions.size() && i < offline.size(); ++i) {
    const eval::Prediction& pr = c.predictions[i];
    agree += (pr.label < 0 || pr.output.empty() ? '-' : pr.output[0]) == offline[i];
  }
  const double acc = c.classification ? c.classification->accuracy : 0.0;
  std::fprintf(stderr, "  live: accuracy %.4f (offline, same model: %.4f), %zu/%zu answers agree; latency p50 %.1f ms, "
               "p95 %.1f ms, p99 %.1f ms; %zu errors\n", acc, chosen.value("accuracy", 0.0), agree, c.predictions.size(),
               c.latency.p50, c.latency.p95, c.latency.p99, c.n_errors);
  return {{"model", request_model.empty() ? eo.model_id : request_model},
          {"type", chosen["type"]},
          {"n", c.predictions.size()},
          {"accuracy", acc},
          {"macro_f1", c.classification ? c.classification->macro_f1 : 0.0},
          {"offline_accuracy", chosen.value("accuracy", 0.0)},
          {"agree", agree},
          {"errors", c.n_errors},
          {"latency_ms", eval::to_json(c.latency)},
          {"tokens_per_s", c.tokens_per_s},
          {"outputs", json::array()}};
}

}  // namespace slm::app
