// Matrix-vector and matrix-matrix speed of each compiled kernel table for the weight types of the
// benchmark models (single thread, except the pool-split products of BM_PrefillLayer): the kernel lab
// behind `slm bench`. Bytes/s counts weight bytes.
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "model/attention.h"
#include "model/model.h"
#include "quant/quant.h"

namespace {

using namespace slm;
using namespace slm::kernels;

struct Weights {
  std::vector<uint8_t> bytes, packed;
  MatView view;
};

Weights make(DType t, int64_t rows, int64_t cols) {
  Rng rng(3);
  const std::vector<float> f = rng.normal(size_t(rows * cols), 0.02f);
  Weights w;
  w.bytes.resize(row_bytes(t, cols) * size_t(rows));
  quant::quantize_parallel(t, f.data(), w.bytes.data(), rows, cols, nullptr, 0);
  w.view = MatView{t, w.bytes.data(), rows, cols, row_bytes(t, cols)};
  return w;
}

// w also in k's packed layout (MatView::packed), as Model::load repacks it; false where k has none for its type.
bool pack(const CpuKernels& k, Weights& w) {
  if (!k.pack || !k.can_pack(w.view.type)) return false;
  w.packed.resize(packed_bytes(w.view));
  k.pack(w.view, w.packed.data());
  w.view.packed = w.packed.data();
  return true;
}

// args: isa, dtype id, tokens n, packed (the table's load-time layout, where it has one), rows. Rows x
// cols = 2048 x 2048 (BM_MatmulRows) is Llama-3.2-1B's attention projection (cache-resident); 32768 rows
// stream from DRAM.
void matmul_rows(benchmark::State& st, int64_t cols) {
  const CpuKernels* k = cpu_kernels_for(Isa(st.range(0)));
  if (!k || !k->matmul_rows) {
    st.SkipWithError("table not available");
    return;
  }
  const DType t = DType(st.range(1));
  const int64_t n = st.range(2), rows = st.range(4);
  Weights w = make(t, rows, cols);
  if (st.range(3) && !pack(*k, w)) {
    st.SkipWithError("no packed layout for this type in this table");
    return;
  }
  Rng rng(4);
  const std::vector<float> x = rng.normal(size_t(n * cols));
  std::vector<uint8_t> xa(std::max<size_t>(1, k->act_bytes(t, cols) * size_t(n)));
  std::vector<float> y(size_t(n * rows));
  for (auto _ : st) {
    k->prepare_act(t, x.data(), n, cols, 0, n, xa.data());
    k->matmul_rows(w.view, x.data(), xa.data(), n, 0, rows, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(w.bytes.size()));
  st.counters["GFLOP/s"] = benchmark::Counter(double(2 * rows * cols * n) * double(st.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.SetLabel(std::string(isa_name(k->isa)) + " " + std::string(quant::type_name(t)) +
              (st.range(3) ? " packed" : ""));
}

void BM_MatmulRows(benchmark::State& st) { matmul_rows(st, 2048); }

void args(benchmark::internal::Benchmark* b) {
  for (int64_t rows : {2048, 32768})
    for (Isa isa : {Isa::avx2, Isa::avx512, Isa::amx})
      for (DType t : {DType::F16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K})
        for (int64_t n : {1, 4, 16, 64, 512})
          for (int64_t packed : {0, 1}) {
            if (rows > 2048 && n > 16) continue;  // DRAM streaming: decode and small batches
            b->Args({int64_t(isa), int64_t(t), n, packed, rows});
          }
}

BENCHMARK(BM_MatmulRows)->Apply(args)->Unit(benchmark::kMicrosecond);

// Llama-3.2-1B's down projection, 2048 x 8192: prefill's activations (16 MiB of f32 at 512 tokens) no
// longer stay in L3 between weight groups. Args as BM_MatmulRows; AVX-512, packed.
void BM_MatmulRowsWide(benchmark::State& st) { matmul_rows(st, 8192); }
BENCHMARK(BM_MatmulRowsWide)
    ->ArgsProduct({{int64_t(Isa::avx512)},
                   {int64_t(DType::F16), int64_t(DType::Q4_0), int64_t(DType::Q4_K)},
                   {1, 512},
                   {1},
                   {2048}})
    ->Unit(benchmark::kMicrosecond);

// The seven products of one Llama-3.2-1B layer at prefill, as the forward pass calls them on the thread pool
// (kernels/parallel.h): q/k/v fused, o, gate/up fused, down; activation preparation, token blocks and the
// pool's hand-offs included. Args: dtype id, tokens, threads. The best table, packed where it has a layout.
// GFLOP/s against BM_Peak times the threads says what the products leave of the FMA peak.
void BM_PrefillLayer(benchmark::State& st) {
  const CpuKernels& k = cpu_kernels();
  const DType t = DType(st.range(0));
  const int64_t n = st.range(1);
  set_threads(int(st.range(2)));
  constexpr int64_t kDim = 2048, kKv = 512, kFfn = 8192;
  std::vector<Weights> w;
  for (auto [rows, cols] : {std::pair{kDim, kDim}, {kKv, kDim}, {kKv, kDim}, {kDim, kDim}, {kFfn, kDim}, {kFfn, kDim},
                            {kDim, kFfn}}) {
    w.push_back(make(t, rows, cols));
    pack(k, w.back());
  }
  Rng rng(5);
  const std::vector<float> x = rng.normal(size_t(n * kDim)), h = rng.normal(size_t(n * kFfn));
  std::vector<float> q(size_t(n * kDim)), kk(size_t(n * kKv)), v(size_t(n * kKv)), o(size_t(n * kDim)),
      gate(size_t(n * kFfn)), up(size_t(n * kFfn)), down(size_t(n * kDim));
  const MatmulOut qkv[] = {{&w[0].view, q}, {&w[1].view, kk}, {&w[2].view, v}};
  const MatmulOut gu[] = {{&w[4].view, gate}, {&w[5].view, up}};
  for (auto _ : st) {
    matmul_parallel_fused(k, qkv, x, n);
    matmul_parallel(k, w[3].view, x, n, o);
    matmul_parallel_fused(k, gu, x, n);
    matmul_parallel(k, w[6].view, h, n, down);
    benchmark::DoNotOptimize(down.data());
  }
  double flop = 0;
  for (const Weights& m : w) flop += 2.0 * double(m.view.rows * m.view.cols * n);
  st.counters["GFLOP/s"] = benchmark::Counter(flop * double(st.iterations()), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
  st.SetLabel(std::string(isa_name(k.isa)) + " " + std::string(quant::type_name(t)) +
              (w[0].view.packed ? " packed" : "") + ", " + std::to_string(global_pool().size()) + " threads");
  set_threads(0);
}
BENCHMARK(BM_PrefillLayer)
    ->ArgsProduct({{int64_t(DType::F16), int64_t(DType::Q4_0)}, {512}, {1, 2}})
    ->MinTime(2.0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Tiled prefill attention (model/attention.h) of one Llama-3.2-1B layer over a causal prompt of n tokens:
// 32 query heads, 8 kv heads of 64 values, an f16 cache. Args: tokens, threads. GFLOP/s counts the causal
// work only (2 x 2 x heads x head_dim x the keys each row may see), so masked work shows as a lower rate.
void BM_PrefillAttention(benchmark::State& st) {
  const CpuKernels& k = cpu_kernels();
  const int n = int(st.range(0));
  set_threads(int(st.range(1)));
  model::ModelConfig cfg;
  cfg.arch = "llama", cfg.n_vocab = 1, cfg.n_ctx = n, cfg.dim = 2048, cfg.n_layer = 1, cfg.n_head = 32,
  cfg.n_head_kv = 8, cfg.head_dim = 64, cfg.ffn_dim = 8192, cfg.rope_dim = 64;
  model::KvCache kv(cfg, {.n_seq = 1, .n_ctx = n, .type = model::KvType::f16});
  Rng rng(7);
  const std::vector<float> kvals = rng.normal(size_t(cfg.kv_dim())), vvals = rng.normal(size_t(cfg.kv_dim()));
  model::Batch batch;
  for (int p = 0; p < n; ++p) {
    batch.add(0, p, 0, p == n - 1);
    for (int h = 0; h < cfg.n_head_kv; ++h) {  // position-dependent rows: keys and values differ per position
      std::vector<float> kr(kvals.begin() + h * 64, kvals.begin() + h * 64 + 64), vr = kr;
      for (int d = 0; d < 64; ++d) {
        kr[size_t(d)] *= float(1 + (p * 7 + d) % 5);
        vr[size_t(d)] = vvals[size_t(h * 64 + (p + d) % 64)];
      }
      k.to_f16(kr, static_cast<f16*>(kv.k_head(0, 0, p, h)));
      k.to_f16(vr, static_cast<f16*>(kv.v_head(0, 0, p, h)));
    }
  }
  kv.set_seq_len(0, n);
  const std::vector<float> q = rng.normal(size_t(n) * size_t(cfg.q_dim()));
  std::vector<float> att(q.size());
  for (auto _ : st) {
    model::attend_tiled(k, cfg, kv, 0, batch, q, att);
    benchmark::DoNotOptimize(att.data());
  }
  const double keys = double(n) * double(n + 1) / 2;  // sum over rows of the positions each sees
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * cfg.n_head * cfg.head_dim * keys * double(st.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.SetLabel(std::string(isa_name(k.isa)) + ", " + std::to_string(global_pool().size()) + " threads");
  set_threads(0);
}
BENCHMARK(BM_PrefillAttention)->ArgsProduct({{512, 2048}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

// Decode attention of one kv head's query heads over n cache positions (scores, then values), the way the
// decode step calls it. Args: g (query heads read together), split (1: one call per head instead), n, memory
// (0: the same rows every time, cache-resident; 1: cycling through 64 MiB of caches, as a decode step over
// many sequences and layers reads them), stride (values between a head's positions: 64 = the cache's
// head-major layout; 192 = rows holding all 3 kv heads, the position-major layout it replaced).
// SmolLM2-135M shape: head_dim 64, 3 kv heads, 3 query heads per kv head.
void BM_DecodeAttention(benchmark::State& st) {
  const CpuKernels* k = cpu_kernels_for(Isa::avx512);
  if (!k || !k->dot_f16_rows) {
    st.SkipWithError("table not available");
    return;
  }
  const size_t g = size_t(st.range(0)), n = size_t(st.range(2)), stride = size_t(st.range(4)), d = 64;
  const size_t caches = st.range(3) ? std::max<size_t>(1, (size_t(64) << 20) / (n * stride * 2 * 2)) : 1;
  Rng rng(5);
  const std::vector<float> raw = rng.normal(n * stride * caches);
  std::vector<f16> kc(raw.size()), vc(raw.size());
  k->to_f16(raw, kc.data());
  k->to_f16(raw, vc.data());
  const std::vector<float> q = rng.normal(g * d);
  std::vector<float> scores(g * n), out(g * d);
  size_t c = 0;
  for (auto _ : st) {
    const f16* kr = kc.data() + c * n * stride;
    const f16* vr = vc.data() + c * n * stride;
    c = (c + 1) % caches;
    if (st.range(1)) {
      for (size_t h = 0; h < g; ++h) {
        k->dot_f16_rows(q.data() + h * d, 1, d, kr, stride, n, scores.data() + h * n, n);
        k->axpy_f16_rows(scores.data() + h * n, 1, n, n, vr, stride, out.data() + h * d, d);
      }
    } else {
      k->dot_f16_rows(q.data(), g, d, kr, stride, n, scores.data(), n);
      k->axpy_f16_rows(scores.data(), g, n, n, vr, stride, out.data(), d);
    }
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["rows/s"] = benchmark::Counter(double(n * g) * double(st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeAttention)->ArgsProduct({{3}, {0, 1}, {128, 1024}, {0, 1}, {64, 192}})->Unit(benchmark::kMicrosecond);

// The arithmetic ceilings the prefill kernels are measured against (single thread): 12 independent chains of
// 512-bit f32 FMAs (16 multiply-adds each), of vdpbf16ps (32 bf16 products into 16 f32 sums each), and of
// 256-bit f32 FMAs.
// GFLOP/s counts 2 per multiply-add, as the matmul benchmarks do.
#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 inside _mm512_reduce_add_ps
constexpr int64_t kPeakIters = 1 << 22;

// kBf16 false: f32 FMAs only (the bf16 target adds no instruction there, so it runs on any AVX-512 CPU).
template <bool kBf16>
__attribute__((target("avx512f,avx512bf16"))) float peak(int64_t iters) {
  __m512 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(float(j) * 1e-3f);
  __m512i b = kBf16 ? _mm512_set1_epi16(0x3f80) : _mm512_castps_si512(_mm512_set1_ps(0.999f));  // 1.0 / 0.999
  const __m512i c = kBf16 ? _mm512_set1_epi16(0x3c00) : _mm512_castps_si512(_mm512_set1_ps(1e-4f));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) {
      if constexpr (kBf16)
        a[j] = _mm512_dpbf16_ps(a[j], (__m512bh)b, (__m512bh)c);
      else
        a[j] = _mm512_fmadd_ps(a[j], _mm512_castsi512_ps(b), _mm512_castsi512_ps(c));
    }
    __asm__ volatile("" : "+v"(b));
  }
  float r = 0;
  for (int j = 0; j < 12; ++j) r += _mm512_reduce_add_ps(a[j]);
  return r;
}

// The AVX2 tables' ceiling: 12 chains of 256-bit FMAs (8 multiply-adds each).
__attribute__((target("avx2,fma"))) float peak_ymm(int64_t iters) {
  __m256 a[12];
  for (int j = 0; j < 12; ++j) a[j] = _mm256_set1_ps(float(j) * 1e-3f);
  __m256 b = _mm256_set1_ps(0.999f);
  const __m256 c = _mm256_set1_ps(1e-4f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) a[j] = _mm256_fmadd_ps(a[j], b, c);
    __asm__ volatile("" : "+x"(b));
  }
  alignas(32) float v[8];
  float r = 0;
  for (int j = 0; j < 12; ++j) {
    _mm256_store_ps(v, a[j]);
    for (float f : v) r += f;
  }
  return r;
}

// The way past that ceiling where a CPU has separate add pipes (Zen 3: two FMA and two add pipes): Winograd's
// (1968) pairwise inner product, x.w = sum_j (x[2j] + w[2j+1]) (x[2j+1] + w[2j]) - sum_j x[2j] x[2j+1] -
// sum_j w[2j] w[2j+1], one multiply-add and two adds per pair of products, the last two sums once per token and
// per row (left out here). A tile of 3 tokens x 16 rows over 256 columns in L1 (the best of the tile shapes
// tried), one add in four as an FMA by 1 so that both pipe pairs carry 9 of the 18 operations per column pair.
// GFLOP/s counts the direct product's 2 per multiply-add, so it reads against Arg 2.
__attribute__((target("avx2,fma"))) float peak_pairwise(int64_t iters) {
  constexpr int kT = 3, kCols = 256;
  alignas(32) static float x[kT * kCols], w[kCols * 16];
  for (int i = 0; i < kT * kCols; ++i) x[i] = float(i % 7) * 0.1f;
  for (int i = 0; i < kCols * 16; ++i) w[i] = float(i % 5) * 0.1f;
  const __m256 one = _mm256_set1_ps(1.0f);
  float r = 0;
  for (int64_t i = 0; i < iters; i += kCols / 2) {
    __m256 acc[kT][2] = {};
#pragma GCC unroll 2
    for (int k = 0; k < kCols; k += 2) {
      const __m256 a0 = _mm256_load_ps(w + k * 16), a1 = _mm256_load_ps(w + k * 16 + 8);
      const __m256 b0 = _mm256_load_ps(w + k * 16 + 16), b1 = _mm256_load_ps(w + k * 16 + 24);
#pragma GCC unroll 3
      for (int t = 0; t < kT; ++t) {
        const __m256 x0 = _mm256_broadcast_ss(x + t * kCols + k), x1 = _mm256_broadcast_ss(x + t * kCols + k + 1);
        acc[t][0] = _mm256_fmadd_ps(_mm256_add_ps(x0, b0), _mm256_add_ps(x1, a0), acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(_mm256_fmadd_ps(b1, one, x0), _mm256_add_ps(x1, a1), acc[t][1]);
      }
    }
    __asm__ volatile("" ::: "memory");
    alignas(32) float v[8];
    _mm256_store_ps(v, _mm256_add_ps(_mm256_add_ps(acc[0][0], acc[1][1]), acc[2][0]));
    r += v[0];
  }
  return r;
}

// Arg 0: f32 FMAs on zmm, 1: vdpbf16ps on zmm, 2: f32 FMAs on ymm (AVX2 + FMA), 3: the pairwise inner product
// on ymm.
void BM_Peak(benchmark::State& st) {
  const int kind = int(st.range(0));
  const bool ok = kind >= 2 ? __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                            : __builtin_cpu_supports("avx512f") && (kind == 0 || __builtin_cpu_supports("avx512bf16"));
  if (!ok) {
    st.SkipWithError("this CPU lacks the instruction");
    return;
  }
  for (auto _ : st)
    benchmark::DoNotOptimize(kind == 3   ? peak_pairwise(kPeakIters)
                             : kind == 2 ? peak_ymm(kPeakIters)
                             : kind == 1 ? peak<true>(kPeakIters)
                                         : peak<false>(kPeakIters));
  // Per iteration: 12 instructions of 16, 64 or 32 flops; the pairwise tile one column pair of 3 x 16 x 2
  // multiply-adds.
  const double flop_per_iter = kind == 3 ? 192 : 12 * (kind == 2 ? 16 : kind == 1 ? 64 : 32);
  st.counters["GFLOP/s"] = benchmark::Counter(double(kPeakIters) * flop_per_iter * double(st.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.SetLabel(kind == 3   ? "pairwise f32 ymm"
              : kind == 2 ? "vfmadd f32 ymm"
              : kind == 1 ? "vdpbf16ps zmm"
                          : "vfmadd f32 zmm");
}
BENCHMARK(BM_Peak)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);
#pragma GCC diagnostic pop
#endif

}  // namespace

BENCHMARK_MAIN();
