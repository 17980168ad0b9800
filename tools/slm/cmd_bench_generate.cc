// `slm bench generate`: prompt processing and generation speed (tokens/s) of a model, for one or more
// sequences decoded together; the best of --repeat runs is reported.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/model.h"
#include "runtime/generate.h"

namespace slm::cli {
namespace {

struct BenchGenerateFlags {
  std::string model, kv_type = "f16";
  int n_prompt = 128, n_gen = 128, repeat = 3, chunk = 512;
  std::vector<int> batches = {1};
};

// Random in-vocabulary prompts (the speed does not depend on the text); greedy, no stop tokens.
std::vector<runtime::GenerationRequest> requests(const model::Model& m, const BenchGenerateFlags& f, int n_seq) {
  Rng rng(42);
  std::vector<runtime::GenerationRequest> reqs(static_cast<size_t>(n_seq));
  for (runtime::GenerationRequest& r : reqs) {
    for (int i = 0; i < f.n_prompt; ++i) r.prompt.push_back(int32_t(rng.below(uint64_t(m.n_vocab()))));
    r.sampling = runtime::greedy_params();
    r.max_tokens = f.n_gen;
  }
  return reqs;
}

void bench(const BenchGenerateFlags& f) {
  if (f.n_prompt < 1 || f.n_gen < 1) fail("[bench] --prompt and --gen must be at least 1");
  const model::Model m = model::Model::load(f.model);
  std::printf("%-28s %6s %8s %14s %8s %14s\n", "model", "batch", "prompt", "prompt tok/s", "gen", "gen tok/s");
  for (int n_seq : f.batches) {
    if (n_seq < 1) fail("[bench] batch sizes must be at least 1, got {}", n_seq);
    runtime::GeneratorOptions opt{.n_seq = n_seq,
                                  .n_ctx = f.n_prompt + f.n_gen,
                                  .kv_type = f.kv_type == "f32" ? model::KvType::f32 : model::KvType::f16,
                                  .prefill_chunk = f.chunk};
    runtime::Generator gen(m, opt);
    const auto reqs = requests(m, f, n_seq);
    double best_pp = 0, best_tg = 0;
    for (int r = 0; r < f.repeat; ++r) {
      gen.clear();  // no prefix reuse between runs
      gen.generate(reqs, {});
      best_pp = std::max(best_pp, gen.timings().prompt_tps());
      best_tg = std::max(best_tg, gen.timings().gen_tps());
    }
    std::string name = f.model.substr(f.model.find_last_of('/') + 1);
    std::printf("%-28s %6d %8d %14.1f %8d %14.1f\n", name.c_str(), n_seq, f.n_prompt * n_seq, best_pp,
                f.n_gen * n_seq, best_tg);
  }
}

}  // namespace

void register_bench_generate(CLI::App& app) {
  auto f = std::make_shared<BenchGenerateFlags>();
  CLI::App* cmd = bench_group(app)->add_subcommand("generate", "Prompt and generation speed (tokens/s)");
  cmd->add_option("-m,--model", f->model, "GGUF model or llama2.c .bin")->required();
  cmd->add_option("--prompt", f->n_prompt, "prompt tokens per sequence");
  cmd->add_option("--gen", f->n_gen, "generated tokens per sequence");
  cmd->add_option("--batch", f->batches, "sequences decoded together (repeatable: --batch 1 --batch 4)");
  cmd->add_option("--chunk", f->chunk, "prefill rows per forward call");
  cmd->add_option("--kv-type", f->kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}));
  cmd->add_option("--repeat", f->repeat, "runs per setting; the best is reported")->check(CLI::Range(1, 100));
  cmd->callback([f] { bench(*f); });
}

}  // namespace slm::cli
