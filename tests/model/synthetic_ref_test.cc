// Every model in testdata/models/synthetic: engine logits vs llama.cpp's (per-storage NMSE bounds from
// the folder's README), vs the float64 reference forward, and the 16 greedy ids of each prompt.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/reference_forward.h"

namespace slm::model {
namespace {

struct Case {
  const char* name;
  double max_nmse_llamacpp;  // engine vs llama.cpp, bounds justified in the README's tolerance table
  bool greedy_must_match;
};

// F32: f32 rounding only (README suggests 1e-9). F16: llama.cpp rounds activations to f16 in qwen2's
// output matmul (README: 4.2e-8 vs float64), bound 1e-6. BF16: llama.cpp rounds activations to bf16
// (2.9e-5..4.1e-5 vs float64), bound 1e-4. gemma2: fp16 GELU table (1.2e-6), bound 1e-5. Quantised:
// llama.cpp quantises activations to Q8_0/Q8_K (2.4e-4..6.2e-4 vs float64), bound 2e-3.
const Case kCases[] = {
    {"llama-f32", 1e-9, true},          {"llama-tok512-f32", 1e-9, true}, {"qwen2-f16", 1e-6, true},
    {"phi3-f16", 1e-6, true},           {"qwen3-bf16", 1e-4, true},       {"gemma2-f16", 1e-5, true},
    {"llama-tok512-q8_0", 2e-3, false}, {"llama-tok512-q4_0", 2e-3, false},
    {"llama-tok512-q4_k_m", 2e-3, false}, {"llama-tok512-q5_k_m", 2e-3, false},
    {"llama-tok512-q6_k", 2e-3, false},
};

class SyntheticModel : public ::testing::TestWithParam<Case> {};

int argmax(std::span<const float> v) {
  int best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[size_t(best)]) best = int(i);  // lowest id on ties
  return best;
}

TEST_P(SyntheticModel, LogitsAndGreedyMatchReferences) {
  const Case c = GetParam();
  SLM_REQUIRE_TESTDATA(dir, "models/synthetic");
  const std::string base = (dir / c.name).string();
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(base + ".ref.json"));
  std::ifstream lf(base + ".logits.f32", std::ios::binary);
  const std::vector<char> raw((std::istreambuf_iterator<char>(lf)), std::istreambuf_iterator<char>());
  std::vector<float> all(raw.size() / 4);
  std::memcpy(all.data(), raw.data(), all.size() * 4);

  const Model m = Model::load(base + ".gguf");
  ASSERT_EQ(m.n_vocab(), ref["n_vocab"].get<int>());
  const size_t nv = size_t(m.n_vocab());
  for (const auto& p : ref["prompts"]) {
    const std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> greedy_want = p["greedy_ids"].get<std::vector<int32_t>>();
    KvCache kv = m.make_cache({.n_seq = 1, .n_ctx = int(ids.size() + greedy_want.size()), .type = KvType::f32});
    const std::vector<float> got = m.prefill(ids, kv, 0, /*all_logits=*/true);
    const std::span<const float> want(all.data() + p["logits_offset_floats"].get<size_t>(), ids.size() * nv);
    const double e_cpp = testing::nmse(got, want);
    const std::vector<double> dref = testing::reference_forward(*m.gguf(), m.config(), ids);
    const double e_ref = testing::nmse(got, dref);
    EXPECT_LT(e_cpp, c.max_nmse_llamacpp) << c.name << " " << p["name"];
    const double ref_bound = testing::engine_vs_reference_bound(*m.gguf());
    EXPECT_LT(e_ref, ref_bound) << c.name << " " << p["name"];  // same weights, float vs double accumulation

    std::vector<int32_t> greedy;
    std::vector<float> last(got.end() - long(nv), got.end());
    for (size_t i = 0; i < greedy_want.size(); ++i) {
      greedy.push_back(argmax(last));
      if (i + 1 < greedy_want.size()) last = m.prefill(std::span(&greedy.back(), 1), kv);
    }
    const bool match = greedy == greedy_want;
    std::printf("[synthetic] %-22s %s nmse_vs_llamacpp=%.3g nmse_vs_reference=%.3g greedy_match=%s (%s)\n",
                c.name, p["name"].get<std::string>().c_str(), e_cpp, e_ref, match ? "yes" : "no",
                kernels::isa_name(kernels::cpu_kernels().isa));
    if (c.greedy_must_match) {
      EXPECT_EQ(greedy, greedy_want) << c.name << " " << p["name"];
    }
    // With dequantised weights and float activations the engine follows the float64 NumPy path, which
    // is where quantised models may leave llama.cpp's (README: q4_k_m p2, q5_k_m p1 and p2).
    // (With int8 activations the path may follow either; only reported then.)
    if (ref_bound < 1e-9) {
      EXPECT_EQ(greedy, p["greedy_ids_numpy_float64"].get<std::vector<int32_t>>()) << c.name << " " << p["name"];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, SyntheticModel, ::testing::ValuesIn(kCases),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace slm::model
