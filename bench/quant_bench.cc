// Quantise and dequantise throughput of every supported tensor type (reference scalar code), per row of 4096.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "quant/quant.h"

namespace {

using slm::DType;

constexpr int64_t kRow = 4096;
constexpr DType kTypes[] = {DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,   DType::Q5_1,
                            DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K,
                            DType::Q6_K, DType::Q8_K, DType::IQ4_NL, DType::IQ4_XS};

std::vector<float> weights() { return slm::Rng(7).normal(size_t(kRow), 0.02f); }

void BM_quantize(benchmark::State& state) {
  const DType t = kTypes[state.range(0)];
  const std::vector<float> x = weights();
  std::vector<char> q(slm::row_bytes(t, kRow));
  for (auto _ : state) {
    slm::quant::quantize(t, x.data(), q.data(), 1, kRow);
    benchmark::DoNotOptimize(q.data());
  }
  state.SetLabel(std::string(slm::quant::type_name(t)));
  state.SetItemsProcessed(state.iterations() * kRow);
  state.SetBytesProcessed(state.iterations() * kRow * int64_t(sizeof(float)));
}

void BM_dequantize(benchmark::State& state) {
  const DType t = kTypes[state.range(0)];
  const std::vector<float> x = weights();
  std::vector<char> q(slm::row_bytes(t, kRow));
  slm::quant::quantize(t, x.data(), q.data(), 1, kRow);
  std::vector<float> y(kRow);
  for (auto _ : state) {
    slm::quant::dequantize(t, q.data(), y.data(), kRow);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(slm::quant::type_name(t)));
  state.SetItemsProcessed(state.iterations() * kRow);
  state.SetBytesProcessed(state.iterations() * kRow * int64_t(sizeof(float)));
}

// A 64 x 4096 matrix split over hardware threads (the whole-model path).
void BM_quantize_parallel(benchmark::State& state) {
  const DType t = kTypes[state.range(0)];
  const std::vector<float> x = slm::Rng(7).normal(size_t(64 * kRow), 0.02f);
  std::vector<char> q(slm::row_bytes(t, kRow) * 64);
  for (auto _ : state) {
    slm::quant::quantize_parallel(t, x.data(), q.data(), 64, kRow, nullptr, 0);
    benchmark::DoNotOptimize(q.data());
  }
  state.SetLabel(std::string(slm::quant::type_name(t)));
  state.SetItemsProcessed(state.iterations() * 64 * kRow);
}

BENCHMARK(BM_quantize)->DenseRange(0, std::size(kTypes) - 1);
BENCHMARK(BM_quantize_parallel)->Arg(10)->Arg(15)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_dequantize)->DenseRange(0, std::size(kTypes) - 1);

}  // namespace

BENCHMARK_MAIN();
