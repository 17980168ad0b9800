// Sampling-chain throughput per vocabulary size: greedy, the default chain (top-k 40, top-p, min-p,
// temperature), top-p over the whole vocabulary, and penalties; one sample per iteration.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "runtime/sampling.h"

namespace {

using slm::runtime::Sampler;
using slm::runtime::SamplingParams;

std::vector<float> logits(int64_t n_vocab) { return slm::Rng(3).normal(size_t(n_vocab), 3.0f); }

void run(benchmark::State& state, const SamplingParams& p) {
  const std::vector<float> l = logits(state.range(0));
  Sampler s(p);
  for (int32_t t = 0; t < 64; ++t) s.accept(t * 7);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(l));
  state.SetItemsProcessed(state.iterations());
}

void BM_greedy(benchmark::State& state) { run(state, slm::runtime::greedy_params()); }

void BM_default_chain(benchmark::State& state) {
  SamplingParams p;
  p.seed = 1;
  run(state, p);
}

void BM_top_p_full_vocab(benchmark::State& state) {
  SamplingParams p;
  p.top_k = 0;
  p.top_p = 0.9f;
  p.min_p = 0.0f;
  p.seed = 1;
  run(state, p);
}

void BM_penalties_then_default(benchmark::State& state) {
  SamplingParams p;
  p.repeat_penalty = 1.1f;
  p.frequency_penalty = 0.1f;
  p.presence_penalty = 0.1f;
  p.seed = 1;
  run(state, p);
}

BENCHMARK(BM_greedy)->Arg(512)->Arg(32000)->Arg(151936);
BENCHMARK(BM_default_chain)->Arg(512)->Arg(32000)->Arg(151936);
BENCHMARK(BM_top_p_full_vocab)->Arg(512)->Arg(32000)->Arg(151936);
BENCHMARK(BM_penalties_then_default)->Arg(32000);

}  // namespace

BENCHMARK_MAIN();
