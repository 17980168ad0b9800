// `slm quant-report --base BASE.gguf --quant Q.gguf --text FILE [--json] [--max-kld X]`: how far a quantised
// model is from its base (perplexity, KL divergence, top-1 agreement); a gate with --max-kld.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "model/quant_report.h"
#include "tokenizer/tokenizer.h"

namespace slm::cli {

void register_quant_report(CLI::App& app) {
  struct Options {
    std::string base, quant, text, task;
    bool json = false;
    double max_kld = -1;
    int n_ctx = 256, chunks = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("quant-report", "Compare a quantised model with its base model");
  cmd->add_option("--base", opt->base, "Base model GGUF")->required();
  cmd->add_option("--quant", opt->quant, "Quantised model GGUF")->required();
  cmd->add_option("--text", opt->text, "Evaluation text file");
  cmd->add_option("--task", opt->task, "Task contract (not available yet)");
  cmd->add_option("-c,--ctx", opt->n_ctx, "Tokens per chunk")->capture_default_str();
  cmd->add_option("--chunks", opt->chunks, "Chunks to evaluate (0: all)");
  cmd->add_option("--max-kld", opt->max_kld, "Fail (exit 3) when the mean KL divergence exceeds this");
  cmd->add_flag("--json", opt->json, "Print one JSON object");
  cmd->callback([opt] {
    if (!opt->task.empty()) fail("[quant-report] --task is not available yet (task contracts are not in slm yet); use --text");
    if (opt->text.empty()) fail("[quant-report] give --text FILE");
    std::ifstream f(opt->text, std::ios::binary);
    if (!f) fail("[quant-report] cannot open {}", opt->text);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const model::Model base = model::Model::load(opt->base), quant = model::Model::load(opt->quant);
    if (base.gguf() == nullptr) fail("[quant-report] {}: a GGUF model is required", opt->base);
    const tok::Tokenizer t = tok::Tokenizer::from_gguf(*base.gguf());
    std::vector<int32_t> ids;
    for (tok::TokenId id : t.encode(text)) ids.push_back(int32_t(id));
    const model::QuantReport r = model::quant_report(base, quant, ids, {.n_ctx = opt->n_ctx, .max_chunks = opt->chunks});
    const bool over = opt->max_kld >= 0 && r.kld_mean > opt->max_kld;
    if (opt->json) {
      nlohmann::json j = r.to_json();
      j["base"] = opt->base, j["quant"] = opt->quant;
      if (opt->max_kld >= 0) j["max_kld"] = opt->max_kld, j["pass"] = !over;
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("%-16s %12s %12s\n", "", "base", "quantised");
      std::printf("%-16s %12.4f %12.4f\n", "perplexity", r.ppl_base, r.ppl_quant);
      std::printf("positions        %lld\n", (long long)r.n_positions);
      std::printf("KLD mean         %.6f\nKLD median       %.6f\nKLD p99          %.6f\nKLD max          %.6f\n",
                  r.kld_mean, r.kld_median, r.kld_p99, r.kld_max);
      std::printf("top-1 agreement  %.2f%%\n", 100.0 * r.top1_agreement);
      if (opt->max_kld >= 0) std::printf("gate: mean KLD %s %.6f: %s\n", over ? ">" : "<=", opt->max_kld, over ? "FAIL" : "pass");
    }
    if (over) std::exit(3);
  });
}

}  // namespace slm::cli
