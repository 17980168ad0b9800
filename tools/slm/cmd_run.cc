// `slm run`: generate from a prompt, streaming text (or ids) to stdout and speeds to stderr; --json prints
// one object with the text, ids and timings instead.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "commands.h"
#include "core/error.h"
#include "gen_flags.h"
#include "runtime/text.h"

namespace slm::cli {
namespace {

struct RunFlags : GenFlags {
  std::string prompt;
  int n_predict = 128;
  bool ids = false, no_bos = false, json = false;
  int n_logprobs = -1;
  std::vector<std::string> loras;  // FILE[:scale]
};

std::vector<int32_t> prompt_ids(const RunFlags& f, const std::optional<tok::Tokenizer>& tok) {
  std::vector<int32_t> ids;
  if (tok) {
    ids = tok->encode(f.prompt, tok::EncodeOptions{.add_special = !f.no_bos});
    if (!f.no_bos && ids.empty() && tok->bos() != tok::kNoToken) ids.push_back(tok->bos());  // -p "": BOS
  } else {
    if (!f.prompt.empty()) fail("[run] {} has no vocabulary: pass --tokenizer FILE to use -p", f.model);
    if (!f.no_bos) ids.push_back(1);  // llama2.c checkpoints use BOS = 1
  }
  if (ids.empty()) fail("[run] the prompt is empty: drop --no-bos or give -p TEXT");
  return ids;
}

nlohmann::json to_json(const std::vector<runtime::Sampled>& lps) {
  nlohmann::json out = nlohmann::json::array();
  for (const runtime::Sampled& s : lps) {
    nlohmann::json top = nlohmann::json::array();
    for (const runtime::TokenLogprob& t : s.top) top.push_back({{"id", t.id}, {"logprob", t.logprob}});
    out.push_back({{"id", s.id}, {"logprob", s.logprob}, {"top", top}});
  }
  return out;
}

void run(RunFlags& f) {
  model::Model model = model::Model::load(f.model);
  for (const std::string& spec : f.loras) {  // FILE[:scale]
    const size_t colon = spec.rfind(':');
    float scale = 1.0f;
    std::string path = spec;
    if (colon != std::string::npos && colon + 1 < spec.size() &&
        spec.find_first_not_of("0123456789.-+eE", colon + 1) == std::string::npos) {
      scale = std::stof(spec.substr(colon + 1));
      path = spec.substr(0, colon);
    }
    model.add_lora(path, scale);
  }
  const std::optional<tok::Tokenizer> tok = runtime::load_tokenizer(model, f.tokenizer);
  runtime::GenerationRequest req;
  req.prompt = prompt_ids(f, tok);
  req.sampling = f.sampling();
  req.max_tokens = f.n_predict;
  req.stop_strings = f.stops;
  req.n_logprobs = f.n_logprobs;
  if (!f.stops.empty() && !tok) fail("[run] --stop needs a vocabulary (--tokenizer)");
  if (!f.ignore_eos && tok) req.stop_tokens = runtime::eog_tokens(*tok);

  // Generation from BOS alone drops the SPM dummy-prefix space of the first piece; a continuation keeps it.
  const bool from_bos = req.prompt.size() == 1 && tok && req.prompt[0] == tok->bos();
  const bool text = tok && !f.ids;
  const runtime::DecoderFactory decoder =
      text ? runtime::tokenizer_decoder(*tok, from_bos) : runtime::DecoderFactory{};

  runtime::Generator gen(model, f.generator(model));
  bool first = true;
  const runtime::GenerationResult r = gen.generate(req, decoder, [&](const runtime::StreamEvent& e) {
    if (f.json) return true;
    if (text) {
      std::fwrite(e.text.data(), 1, e.text.size(), stdout);
    } else if (std::find(req.stop_tokens.begin(), req.stop_tokens.end(), e.token) == req.stop_tokens.end()) {
      std::printf(first ? "%d" : " %d", e.token);
      first = false;
    }
    std::fflush(stdout);
    return true;
  });
  const runtime::Timings& t = gen.timings();
  if (f.json) {
    nlohmann::json j = {
        {"text", r.text},
        {"ids", r.tokens},
        {"prompt_ids", req.prompt},
        {"finish_reason", runtime::finish_reason_name(r.finish)},
        {"seed", req.sampling.seed},
        {"timings",
         {{"n_prompt", t.n_prompt}, {"prompt_ms", t.prompt_ms}, {"prompt_tps", t.prompt_tps()},
          {"n_gen", t.n_gen}, {"gen_ms", t.gen_ms}, {"gen_tps", t.gen_tps()}}},
    };
    if (f.n_logprobs >= 0) j["logprobs"] = to_json(r.logprobs);
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("\n");
  std::fflush(stdout);
  std::fprintf(stderr, "prompt: %d tokens in %.1f ms, %.1f tokens/s\n", t.n_prompt, t.prompt_ms, t.prompt_tps());
  std::fprintf(stderr, "generation: %d tokens in %.1f ms, %.1f tokens/s (%s, seed %llu)\n", t.n_gen, t.gen_ms,
               t.gen_tps(), runtime::finish_reason_name(r.finish), (unsigned long long)req.sampling.seed);
}

}  // namespace

void register_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "generate text from a prompt");
  auto f = std::make_shared<RunFlags>();
  f->add_to(cmd);
  cmd->add_option("-p,--prompt", f->prompt, "prompt text (\"\" = start from BOS)");
  cmd->add_option("-n,--n-predict", f->n_predict, "tokens to generate (-1 = until the context is full)");
  cmd->add_flag("--ids", f->ids, "print token ids instead of text");
  cmd->add_flag("--no-bos", f->no_bos, "do not start the prompt with BOS");
  cmd->add_flag("--json", f->json, "print one JSON object: text, ids, timings");
  cmd->add_option("--logprobs", f->n_logprobs, "with --json: log-probabilities with N alternatives per token");
  cmd->add_option("--lora", f->loras, "GGUF LoRA adapter FILE[:scale] (repeatable), applied at the matmul site");
  cmd->callback([f] { run(*f); });
}

}  // namespace slm::cli
