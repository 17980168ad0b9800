// The engine against the float64 reference for every family and every tensor type, on tiny random
// GGUFs; batched vs unbatched, chunked vs one-shot prefill, logits only where asked, F16 vs F32 cache.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "common/testdata.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/observe.h"
#include "model/reference_forward.h"
#include "model/tiny_model.h"
#include "model/weights.h"
#include "quant/quant.h"

namespace slm::model {
namespace {

using testing::TinySpec;

const std::vector<int32_t> kTokens = {1, 5, 17, 42, 3, 96, 0, 33, 8, 61, 7};

Model tiny(const TinySpec& spec, const slm::testing::TempDir& dir) {
  const std::string path = dir.file(spec.arch + ".gguf");
  testing::write_tiny_model(spec, path);
  return Model::load(path);
}

struct FamilyCase {
  const char* arch;
  bool tied, rope_freqs;
  int window;
};

class FamilyTest : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(FamilyTest, MatchesReferenceForward) {
  const FamilyCase c = GetParam();
  slm::testing::TempDir dir;
  TinySpec spec{.arch = c.arch, .tied = c.tied, .rope_freqs = c.rope_freqs, .sliding_window = c.window};
  if (spec.arch == "gemma2" || spec.arch == "qwen3") spec.head_dim = 24;  // head_dim != dim / n_head
  const Model m = tiny(spec, dir);
  EXPECT_EQ(m.config().tied_embeddings, c.tied);
  KvCache kv = m.make_cache({.type = KvType::f32});
  const std::vector<float> got = m.prefill(kTokens, kv, 0, true);
  const std::vector<double> want = testing::reference_forward(*m.gguf(), m.config(), kTokens);
  EXPECT_LT(testing::nmse(got, want), 1e-10) << c.arch;
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTest,
                         ::testing::Values(FamilyCase{"llama", true, false, 0}, FamilyCase{"llama", false, true, 0},
                                           FamilyCase{"qwen2", true, false, 0}, FamilyCase{"qwen3", false, false, 0},
                                           FamilyCase{"phi3", false, false, 4}, FamilyCase{"gemma2", true, false, 3}),
                         [](const auto& info) {
                           return std::string(info.param.arch) + (info.param.rope_freqs ? "_rope_freqs" : "") +
                                  (info.param.tied ? "_tied" : "");
                         });

class TensorTypeTest : public ::testing::TestWithParam<DType> {};

TEST_P(TensorTypeTest, MatchesReferenceForward) {
  const DType t = GetParam();
  slm::testing::TempDir dir;
  TinySpec spec{.arch = "llama", .type = t};
  if (dtype_info(t).block_size > 32) spec.dim = 256, spec.ffn = 256, spec.head_dim = 64;
  const Model m = tiny(spec, dir);
  KvCache kv = m.make_cache({.type = KvType::f32});
  const std::vector<float> got = m.prefill(kTokens, kv, 0, true);
  const std::vector<double> want = testing::reference_forward(*m.gguf(), m.config(), kTokens);
  const double e = testing::nmse(got, want);
  EXPECT_LT(e, testing::engine_vs_reference_bound(std::span(&t, 1))) << dtype_info(t).name;
  if (testing::int8_activations(t)) {
    EXPECT_GT(e, 0.0);  // the bound is loose only where it must be
  }
}

std::vector<DType> weight_types() {
  std::vector<DType> out;
  for (uint32_t id = 0; id < 64; ++id) {
    const auto info = dtype_info(id);
    if (info && quant::can_dequantize(info->type) && quant::can_quantize(info->type)) out.push_back(info->type);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, TensorTypeTest, ::testing::ValuesIn(weight_types()),
                         [](const auto& info) { return std::string(dtype_info(info.param).name); });

// Model::load repacks the projections the active kernel table has a layout for (MatView::packed);
// SLM_NO_REPACK=1 keeps the stored layout. Both give the same logits up to f32 summation order.
TEST(RepackTest, RepackedWeightsGiveTheStoredLayoutsLogits) {
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::F16, DType::Q4_K, DType::Q6_K}) {
    slm::testing::TempDir dir;
    TinySpec spec{.arch = "qwen2", .type = t, .tied = false};
    if (dtype_info(t).block_size > 32) spec.dim = 256, spec.ffn = 256, spec.head_dim = 64;
    const std::string path = dir.file("m.gguf");
    testing::write_tiny_model(spec, path);
    ::setenv("SLM_NO_REPACK", "1", 1);
    const Model stored = Model::load(path);
    ::unsetenv("SLM_NO_REPACK");
    const Model packed = Model::load(path);
    const bool packs = k.pack && k.can_pack(t);
    for (const LayerWeights& L : packed.weights().layers)
      for (const MatView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
        EXPECT_EQ(w->packed != nullptr, packs) << dtype_info(t).name << " on " << kernels::isa_name(k.isa);
    EXPECT_EQ(packed.weights().output.packed != nullptr, packs) << dtype_info(t).name;
    for (const LayerWeights& L : stored.weights().layers) EXPECT_EQ(L.wq.packed, nullptr);
    // Prefill (many rows) and decode (one row) both read the packed layout.
    KvCache kv_a = stored.make_cache({.type = KvType::f32}), kv_b = packed.make_cache({.type = KvType::f32});
    const std::vector<float> a = stored.prefill(kTokens, kv_a, 0, true, 4);
    const std::vector<float> b = packed.prefill(kTokens, kv_b, 0, true, 4);
    // The packed kernels keep the stored kernels' float order (same bits up to f32 rounding), except the
    // K-quants', which apply each sub-block's scale (and min) in another order: a next layer's int8
    // activation may then round the other way, so their bound is the int8 engine's.
    const bool k_quant = t == DType::Q4_K || t == DType::Q6_K;
    EXPECT_LT(testing::nmse(b, a), k_quant ? 1e-4 : 1e-10) << dtype_info(t).name;
    const std::vector<double> want = testing::reference_forward(*packed.gguf(), packed.config(), kTokens);
    EXPECT_LT(testing::nmse(b, want), testing::engine_vs_reference_bound(std::span(&t, 1))) << dtype_info(t).name;
  }
}

// The server's promise (a request's greedy output does not depend on what else is batched with it) on the
// packed layouts: one decode step of three sequences together equals each one's own step, bit for bit.
TEST(RepackTest, BatchedDecodeStepEqualsEachAloneBitForBit) {
  const std::vector<std::vector<int32_t>> seqs = {{3, 9, 27, 81, 4}, {11, 22, 33, 44, 55, 66, 77}, {50, 60}};
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K, DType::F16}) {
    slm::testing::TempDir dir;
    const std::string path = dir.file("m.gguf");
    TinySpec spec{.arch = "llama", .type = t};
    if (dtype_info(t).block_size > 32) spec.dim = 256, spec.ffn = 256, spec.head_dim = 64;
    testing::write_tiny_model(spec, path);
    const Model m = Model::load(path);
    const size_t nv = size_t(m.n_vocab());
    KvCache together = m.make_cache({.n_seq = 3});
    std::vector<KvCache> alone;
    for (int s = 0; s < 3; ++s) {
      m.prefill(seqs[size_t(s)], together, s);
      alone.push_back(m.make_cache({.n_seq = 1}));
      m.prefill(seqs[size_t(s)], alone.back(), 0);
    }
    Batch b;
    for (int s = 0; s < 3; ++s) b.add(7, int(seqs[size_t(s)].size()), s, true);
    std::vector<float> step(3 * nv);
    m.forward(b, together, step);
    for (int s = 0; s < 3; ++s) {
      Batch one;
      one.add(7, int(seqs[size_t(s)].size()), 0, true);
      std::vector<float> own(nv);
      m.forward(one, alone[size_t(s)], own);
      EXPECT_TRUE(std::equal(own.begin(), own.end(), step.begin() + std::ptrdiff_t(size_t(s) * nv)))
          << dtype_info(t).name << " sequence " << s;
    }
  }
}

class ForwardTest : public ::testing::Test {
 protected:
  slm::testing::TempDir dir_;
  Model m_ = tiny(TinySpec{.arch = "qwen2", .ctx = 32}, dir_);
  size_t nv_ = size_t(m_.n_vocab());

  std::vector<float> alone(std::span<const int32_t> toks, KvType t = KvType::f32) const {
    KvCache kv = m_.make_cache({.type = t});
    return m_.prefill(toks, kv, 0, true);
  }
};

TEST_F(ForwardTest, BatchedEqualsUnbatched) {
  const std::vector<std::vector<int32_t>> seqs = {{3, 9, 27, 81, 4}, {11, 22, 33, 44, 55, 66, 77, 88, 2}, {50, 60, 70}};
  KvCache kv = m_.make_cache({.n_seq = 3, .type = KvType::f32});
  Batch b;  // rows of the three sequences interleaved
  for (size_t i = 0; i < 9; ++i)
    for (int s = 0; s < 3; ++s)
      if (i < seqs[size_t(s)].size()) b.add(seqs[size_t(s)][i], int(i), s, true);
  std::vector<float> out(b.n_logits() * nv_);
  m_.forward(b, kv, out);
  std::vector<size_t> row(3, 0);
  size_t r = 0;
  std::vector<std::vector<float>> want;
  for (const auto& s : seqs) want.push_back(alone(s));
  for (size_t i = 0; i < b.size(); ++i, ++r) {
    const int s = b.seq_ids[i];
    const std::span<const float> got(out.data() + r * nv_, nv_);
    const std::span<const float> exp(want[size_t(s)].data() + row[size_t(s)]++ * nv_, nv_);
    EXPECT_LT(testing::nmse(got, exp), 1e-12) << "row " << i << " seq " << s;
  }
  // One decode step for all three sequences together equals each sequence's own next step.
  b.clear();
  for (int s = 0; s < 3; ++s) b.add(5, int(seqs[size_t(s)].size()), s, true);
  std::vector<float> step(3 * nv_);
  m_.forward(b, kv, step);
  for (int s = 0; s < 3; ++s) {
    std::vector<int32_t> longer = seqs[size_t(s)];
    longer.push_back(5);
    const std::vector<float> exp = alone(longer);
    EXPECT_LT(testing::nmse(std::span(step).subspan(size_t(s) * nv_, nv_), std::span(exp).last(nv_)), 1e-12);
    EXPECT_EQ(kv.seq_len(s), int(longer.size()));
  }
}

TEST_F(ForwardTest, ChunkedPrefillEqualsOneShot) {
  const std::vector<float> one = alone(kTokens);
  for (int chunk : {1, 3, 4, 10}) {
    KvCache kv = m_.make_cache({.type = KvType::f32});
    EXPECT_LT(testing::nmse(m_.prefill(kTokens, kv, 0, true, chunk), one), 1e-12) << "chunk " << chunk;
  }
}

TEST_F(ForwardTest, LogitsOnlyForRequestedRows) {
  const std::vector<float> all = alone(kTokens);
  KvCache kv = m_.make_cache({.type = KvType::f32});
  Batch b;
  for (size_t i = 0; i < kTokens.size(); ++i) b.add(kTokens[i], int(i), 0, i == 2 || i == 7);
  std::vector<float> out(2 * nv_);
  m_.forward(b, kv, out);
  EXPECT_LT(testing::nmse(std::span(out).first(nv_), std::span(all).subspan(2 * nv_, nv_)), 1e-12);
  EXPECT_LT(testing::nmse(std::span(out).last(nv_), std::span(all).subspan(7 * nv_, nv_)), 1e-12);
  const std::vector<float> last = [&] {
    KvCache kv2 = m_.make_cache({.type = KvType::f32});
    return m_.prefill(kTokens, kv2);
  }();
  EXPECT_EQ(last.size(), nv_);
  EXPECT_LT(testing::nmse(last, std::span(all).last(nv_)), 1e-12);
}

// The last layer runs past its K/V only for the rows that want logits. A prompt long enough for tiled
// attention (the trimmed row takes the per-row path): the same last logits as every row through every layer,
// the same cache bit for bit (the next step's logits are equal), also when earlier chunks want no logits.
TEST(LastLayerTrim, SameLogitsAndCacheAsEveryRow) {
  struct Case {
    std::string arch;  // qwen3: q/k norms; phi3: sliding window; gemma2: post-norms, softcaps, window
    DType t;
  };
  for (const Case& c : std::vector<Case>{{"qwen2", DType::F32}, {"qwen2", DType::F16}, {"qwen2", DType::Q8_0},
                                         {"llama", DType::F32}, {"qwen3", DType::F32}, {"phi3", DType::F32},
                                         {"gemma2", DType::F32}}) {
    const DType t = c.t;
    slm::testing::TempDir dir;
    TinySpec spec{.arch = c.arch, .type = t, .n_layer = 3, .ctx = 64};
    if (c.arch == "phi3" || c.arch == "gemma2") spec.sliding_window = 12;
    const Model m = tiny(spec, dir);
    const size_t nv = size_t(m.n_vocab());
    std::vector<int32_t> prompt;
    for (int i = 0; i < 40; ++i) prompt.push_back(int32_t((i * 37 + 11) % 97));
    auto next_step = [&](KvCache& kv) {
      Batch b;
      b.add(5, kv.seq_len(0), 0, true);
      std::vector<float> out(nv);
      m.forward(b, kv, out);
      return out;
    };
    for (int chunk : {512, 16, 39}) {  // the same chunks both ways: chunking itself changes the float order
      KvCache every = m.make_cache({.type = KvType::f32}), kv = m.make_cache({.type = KvType::f32});
      const std::vector<float> all = m.prefill(prompt, every, 0, true, chunk);
      const std::vector<float> last = m.prefill(prompt, kv, 0, false, chunk);
      ASSERT_EQ(last.size(), nv);
      EXPECT_LT(testing::nmse(last, std::span(all).last(nv)), 1e-12)
          << c.arch << " " << dtype_info(t).name << " chunk " << chunk;
      EXPECT_EQ(kv.seq_len(0), int(prompt.size()));
      const std::vector<float> next = next_step(kv), all_next = next_step(every);
      EXPECT_TRUE(std::equal(next.begin(), next.end(), all_next.begin()))
          << c.arch << " " << dtype_info(t).name << " chunk " << chunk;
    }
  }
}

// An importance observer sees every row of every layer's projections, the last layer's too.
TEST(LastLayerTrim, ObserverSeesEveryRow) {
  slm::testing::TempDir dir;
  const Model m = tiny(TinySpec{.arch = "llama"}, dir);
  const LayerWeights& last = m.weights().layers.back();
  std::map<const uint8_t*, int64_t> rows;
  {
    const ScopedMatmulObserver obs([&](const kernels::MatView& w, std::span<const float>, int64_t n) { rows[w.data] += n; });
    KvCache kv = m.make_cache({});
    m.prefill(kTokens, kv);
  }
  for (const kernels::MatView* w : {&last.wq, &last.wk, &last.wo, &last.w_gate, &last.w_down})
    EXPECT_EQ(rows[w->data], int64_t(kTokens.size()));
}

TEST_F(ForwardTest, F16CacheIsCloseToF32) {
  EXPECT_LT(testing::nmse(alone(kTokens, KvType::f16), alone(kTokens)), 1e-5);
}

TEST_F(ForwardTest, TruncateAndRefeedReproduces) {
  KvCache kv = m_.make_cache({.type = KvType::f32});
  const std::vector<float> first = m_.prefill(kTokens, kv, 0, true);
  kv.truncate(0, 4);
  const std::vector<float> again = m_.prefill(std::span(kTokens).subspan(4), kv, 0, true);
  EXPECT_LT(testing::nmse(again, std::span(first).subspan(4 * nv_)), 1e-12);
  kv.clear(0);
  EXPECT_EQ(kv.seq_len(0), 0);
}

TEST(ModelLoad, WeightsAreViewsIntoTheMappedFile) {
  slm::testing::TempDir dir;
  const Model m = tiny(TinySpec{.arch = "phi3", .type = DType::Q8_0, .tied = false}, dir);
  const std::span<const uint8_t> file = m.gguf()->bytes();
  auto inside = [&](const MatView& v) {
    return v.data >= file.data() && v.row(v.rows) <= file.data() + file.size();
  };
  EXPECT_TRUE(inside(m.weights().tok_embd));
  EXPECT_TRUE(inside(m.weights().output));
  for (const LayerWeights& L : m.weights().layers) {
    for (const MatView* v : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      EXPECT_TRUE(inside(*v));
      EXPECT_EQ(v->type, DType::Q8_0);
    }
    EXPECT_EQ(L.wk.data, L.wq.row(L.wq.rows));  // fused qkv: row ranges of one tensor
  }
}

TEST(KvCache, SizedFromContextLength) {
  slm::testing::TempDir dir;
  const Model m = tiny(TinySpec{.ctx = 48}, dir);
  EXPECT_EQ(m.make_cache().n_ctx(), 48);
  EXPECT_EQ(m.make_cache({.n_ctx = 16}).n_ctx(), 16);
  EXPECT_EQ(m.make_cache().type(), KvType::f16);
}

}  // namespace
}  // namespace slm::model
