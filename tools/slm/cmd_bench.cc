// `slm bench -m MODEL`: llama-bench-style prompt processing (ppN) and token generation (tgN) speed of one
// model, as the median (min-max) of -r runs after one warm-up, plus the effective weight bandwidth of
// generation (bytes of weights read per token x tokens/s). -d runs each test after D tokens already in the
// cache ("pp512 @ d2048", as llama-bench names it): the attention over a long context, untimed fill.
// Other `slm bench <what>` subcommands live in their own files; this one is what `slm bench` does without a
// subcommand.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "kernels/kernels.h"
#include "model/model.h"

namespace slm::cli {
namespace {

struct BenchFlags {
  std::string model;
  std::vector<int> n_prompt = {512}, n_gen = {128}, depth = {0};
  int threads = 2, reps = 3, chunk = 512;
  bool json = false;
};

struct ModelFacts {
  std::string name, type;
  uint64_t file_bytes = 0, params = 0;
  uint64_t bytes_per_token = 0;  // weights a generation step reads: every matrix, not the embedding table
};

ModelFacts facts(const gguf::File& f, const std::string& path) {
  ModelFacts m;
  m.name = path.substr(path.find_last_of('/') + 1);
  std::map<DType, uint64_t> by_type;
  const bool tied = f.find_tensor("output.weight") == nullptr;
  for (const gguf::TensorInfo& t : f.tensors()) {
    m.file_bytes += t.n_bytes;
    m.params += uint64_t(t.n_elements());
    if (t.ne.size() >= 2) by_type[t.type] += t.n_bytes;
    if (t.name != "token_embd.weight" || tied) m.bytes_per_token += t.n_bytes;
  }
  uint64_t best = 0;
  for (auto [t, b] : by_type)
    if (b > best) best = b, m.type = std::string(dtype_info(t).name);
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int32_t> random_tokens(const model::Model& m, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int32_t& v : t) v = int32_t(rng.below(uint64_t(m.n_vocab())));
  return t;
}

// Seconds to prefill n tokens after the `depth` the cache holds (it goes back to that depth first).
double time_prompt(const model::Model& m, model::KvCache& kv, int depth, int n, int chunk) {
  kv.truncate(0, depth);
  const std::vector<int32_t> toks = random_tokens(m, n, 1);
  const auto t0 = std::chrono::steady_clock::now();
  m.prefill(toks, kv, 0, false, chunk);
  return seconds_since(t0);
}

// Seconds to generate n tokens one at a time after `depth` cached ones (as llama-bench's tgN).
double time_gen(const model::Model& m, model::KvCache& kv, int depth, int n) {
  kv.truncate(0, depth);
  const std::vector<int32_t> toks = random_tokens(m, n, 2);
  std::vector<float> logits(size_t(m.n_vocab()));
  model::Batch b;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    b.clear();
    b.add(toks[size_t(i)], depth + i, 0, true);
    m.forward(b, kv, logits);
  }
  return seconds_since(t0);
}

struct Result {
  std::string test;
  int n = 0, depth = 0;
  bool gen = false;
  std::vector<double> tps;  // sorted
  double median() const { return tps[tps.size() / 2]; }
};

// kv holds `depth` tokens (and room for n more); every run goes back to that depth first.
Result measure(const model::Model& m, const BenchFlags& f, model::KvCache& kv, bool gen, int n, int depth) {
  Result r{.test = (gen ? "tg" : "pp") + std::to_string(n) + (depth > 0 ? " @ d" + std::to_string(depth) : ""),
           .n = n, .depth = depth, .gen = gen, .tps = {}};
  for (int i = 0; i <= f.reps; ++i) {  // run 0 warms caches and pages in the weights
    const double s = gen ? time_gen(m, kv, depth, n) : time_prompt(m, kv, depth, n, f.chunk);
    if (i > 0) r.tps.push_back(double(n) / s);
  }
  std::sort(r.tps.begin(), r.tps.end());
  return r;
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, b >= (1ull << 30) ? "%.2f GiB" : "%.1f MiB",
                b >= (1ull << 30) ? double(b) / double(1ull << 30) : double(b) / double(1ull << 20));
  return buf;
}

void bench(const BenchFlags& f) {
  if (f.model.empty()) fail("[bench] give a model: slm bench -m MODEL (or a subcommand, see --help)");
  if (f.threads < 1 || f.reps < 1) fail("[bench] -t and -r must be at least 1");
  if (f.chunk < 1) fail("[bench] --chunk must be at least 1, got {}", f.chunk);
  for (int d : f.depth)
    if (d < 0) fail("[bench] -d (depth) must be 0 or more, got {}", d);
  const auto file = std::make_shared<const gguf::File>(gguf::File::open(f.model));
  const ModelFacts mf = facts(*file, f.model);
  const model::Model m = model::Model::from_gguf(file);
  set_threads(f.threads);
  const char* isa = kernels::isa_name(kernels::cpu_kernels().isa);
  std::vector<Result> results;
  int longest = 0;  // tokens a test adds after the depth
  for (int n : f.n_prompt) longest = std::max(longest, n);
  for (int n : f.n_gen) longest = std::max(longest, n);
  for (int d : f.depth) {
    // One cache per depth, filled once (untimed) and shared by that depth's tests.
    model::KvCache kv = m.make_cache({.n_seq = 1, .n_ctx = d + std::max(longest, 1), .type = model::KvType::f16});
    if (d > 0) m.prefill(random_tokens(m, d, 3), kv, 0, false, f.chunk);
    for (int n : f.n_prompt)
      if (n > 0) results.push_back(measure(m, f, kv, false, n, d));
    for (int n : f.n_gen)
      if (n > 0) results.push_back(measure(m, f, kv, true, n, d));
  }
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Result& r : results) {
      const double gbs = r.gen ? double(mf.bytes_per_token) * r.median() / 1e9 : 0.0;
      out.push_back({{"model", mf.name}, {"type", mf.type}, {"size_bytes", mf.file_bytes},
                     {"n_params", mf.params}, {"isa", isa}, {"threads", f.threads}, {"test", r.test},
                     {"n_prompt", r.gen ? 0 : r.n}, {"n_gen", r.gen ? r.n : 0}, {"n_depth", r.depth},
                     {"tps_median", r.median()},
                     {"tps_min", r.tps.front()}, {"tps_max", r.tps.back()}, {"samples", r.tps},
                     {"weight_bytes_per_token", mf.bytes_per_token},
                     {"bandwidth_gbs", r.gen ? nlohmann::json(gbs) : nlohmann::json(nullptr)}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  // The test column widens for "pp512 @ d2048" names.
  int tw = 7;
  for (const Result& r : results) tw = std::max(tw, int(r.test.size()));
  std::printf("| %-30s | %6s | %10s | %7s | %-12s | %7s | %*s | %26s | %9s |\n", "model", "type", "size",
              "params", "backend", "threads", tw, "test", "t/s median (min-max)", "GB/s");
  std::printf("| %.30s | -----: | ---------: | ------: | ------------ | ------: | %s: | %.26s | --------: |\n",
              "------------------------------", std::string(size_t(tw - 1), '-').c_str(), "-------------------------:");
  for (const Result& r : results) {
    char tps[64], gbs[32] = "-";
    std::snprintf(tps, sizeof tps, "%.2f (%.2f-%.2f)", r.median(), r.tps.front(), r.tps.back());
    if (r.gen) std::snprintf(gbs, sizeof gbs, "%.1f", double(mf.bytes_per_token) * r.median() / 1e9);
    const std::string backend = std::string("CPU ") + isa;
    std::printf("| %-30s | %6s | %10s | %6.0fM | %-12s | %7d | %*s | %26s | %9s |\n", mf.name.c_str(),
                mf.type.c_str(), human_bytes(mf.file_bytes).c_str(), double(mf.params) / 1e6, backend.c_str(),
                f.threads, tw, r.test.c_str(), tps, gbs);
  }
}

}  // namespace

CLI::App* bench_group(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == "bench") return sub;
  CLI::App* b = app.add_subcommand("bench", "Measure throughput of slm's hot paths");
  b->require_subcommand(0, 1);  // `slm bench -m MODEL` runs the model benchmark
  return b;
}

void register_bench_model(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* b = bench_group(app);
  b->add_option("-m,--model", f->model, "GGUF model: prompt and generation tokens/s");
  b->add_option("-p,--n-prompt", f->n_prompt, "prompt lengths (comma-separated; 0 skips)")->delimiter(',');
  b->add_option("-n,--n-gen", f->n_gen, "generation lengths (comma-separated; 0 skips)")->delimiter(',');
  b->add_option("-d,--depth", f->depth, "tokens already in the cache before each test (comma-separated)")
      ->delimiter(',');
  b->add_option("-t,--threads", f->threads, "threads");
  b->add_option("-r,--repetitions", f->reps, "measured runs per test (after one warm-up)");
  b->add_option("--chunk", f->chunk, "prefill rows per forward call");
  b->add_flag("--json", f->json, "JSON output");
  b->callback([f, b] {
    if (!b->get_subcommands().empty()) return;  // another bench subcommand ran
    bench(*f);
  });
}

}  // namespace slm::cli
