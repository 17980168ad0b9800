// attend_tiled (prefill attention over KV tiles with an online softmax) against a direct float64 softmax
// attention, on every compiled ISA: long prompts, a batch of two sequences, GQA, sliding windows, softcap,
// f16 and f32 caches, contiguous and paged.
#include "model/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/nmse.h"
#include "core/f16.h"
#include "core/rng.h"

namespace slm::model {
namespace {

struct AttnCase {
  int n_head, n_head_kv, head_dim, window;
  float softcap;
  KvType type;
  int block;
};

ModelConfig config(const AttnCase& s) {
  ModelConfig cfg;
  cfg.n_layer = 2, cfg.n_ctx = 400, cfg.n_head = s.n_head, cfg.n_head_kv = s.n_head_kv;
  cfg.head_dim = s.head_dim, cfg.dim = s.n_head * s.head_dim, cfg.sliding_window = s.window;
  cfg.sliding_layer_period = s.window > 0 ? 2 : 0, cfg.attn_softcap = s.softcap;
  return cfg;
}

float cached(KvType t, const void* row, size_t i) {
  return t == KvType::f16 ? f16_to_f32(static_cast<const f16*>(row)[i]) : static_cast<const float*>(row)[i];
}

// The definition, in double: each (row, head) separately.
std::vector<float> direct(const ModelConfig& cfg, KvCache& kv, int layer, const Batch& b, const std::vector<float>& q) {
  const size_t hd = size_t(cfg.head_dim), qd = size_t(cfg.q_dim());
  const int group = cfg.n_head / cfg.n_head_kv;
  std::vector<float> out(b.size() * qd);
  for (size_t r = 0; r < b.size(); ++r) {
    const int pos = b.positions[r], seq = b.seq_ids[r];
    const int lo = cfg.layer_slides(layer) ? std::max(0, pos - cfg.sliding_window + 1) : 0;
    for (int h = 0; h < cfg.n_head; ++h) {
      std::vector<double> p;
      double mx = -1e300, sum = 0.0;
      for (int j = lo; j <= pos; ++j) {
        double d = 0.0;
        for (size_t i = 0; i < hd; ++i)
          d += double(q[r * qd + size_t(h) * hd + i]) * cached(kv.type(), kv.k_head(layer, seq, j, h / group), i);
        d *= cfg.attn_scale();
        if (cfg.attn_softcap > 0.0f) d = cfg.attn_softcap * std::tanh(d / cfg.attn_softcap);
        p.push_back(d);
        mx = std::max(mx, d);
      }
      for (double& v : p) sum += (v = std::exp(v - mx));
      for (size_t i = 0; i < hd; ++i) {
        double acc = 0.0;
        for (int j = lo; j <= pos; ++j) acc += p[size_t(j - lo)] * cached(kv.type(), kv.v_head(layer, seq, j, h / group), i);
        out[r * qd + size_t(h) * hd + i] = float(acc / sum);
      }
    }
  }
  return out;
}

std::vector<AttnCase> setups() {
  return {{6, 2, 32, 0, 0.0f, KvType::f32, 0},    {6, 2, 32, 0, 0.0f, KvType::f16, 0},
          {4, 4, 24, 0, 0.0f, KvType::f32, 16},   {8, 2, 16, 37, 0.0f, KvType::f32, 0},
          {6, 3, 24, 50, 30.0f, KvType::f16, 32}, {7, 1, 64, 0, 0.0f, KvType::f32, 0}};
}

TEST(AttendTiled, MatchesDirectSoftmaxAttention) {
  const kernels::CpuKernels& k0 = *kernels::cpu_kernels_for(kernels::Isa::scalar);
  for (const AttnCase& s : setups()) {
    const ModelConfig cfg = config(s);
    KvCache kv(cfg, {.n_seq = 2, .n_ctx = 400, .type = s.type, .block = s.block});
    Rng rng(7);
    // Sequence 0: a 300-token prompt from position 0; sequence 1: rows 150..249 after 150 cached positions.
    Batch b;
    for (int p = 0; p < 300; ++p) b.add(0, p, 0);
    for (int p = 150; p < 250; ++p) b.add(0, p, 1);
    if (kv.paged()) {
      ASSERT_TRUE(kv.reserve(0, 300) && kv.reserve(1, 250));
    }
    for (int layer = 0; layer < 2; ++layer)
      for (int seq = 0; seq < 2; ++seq)
        for (int p = 0; p < (seq == 0 ? 300 : 250); ++p) {
          for (int h = 0; h < cfg.n_head_kv; ++h) {
            const std::vector<float> kr = rng.normal(size_t(cfg.head_dim)), vr = rng.normal(size_t(cfg.head_dim));
            for (auto [src, dst] : {std::pair{&kr, kv.k_head(layer, seq, p, h)}, std::pair{&vr, kv.v_head(layer, seq, p, h)}}) {
              if (s.type == KvType::f16) {
                k0.to_f16(*src, static_cast<f16*>(dst));
              } else {
                std::copy(src->begin(), src->end(), static_cast<float*>(dst));
              }
            }
          }
        }
    const std::vector<float> q = rng.normal(b.size() * size_t(cfg.q_dim()), 2.0f);
    for (int layer = 0; layer < 2; ++layer) {
      const std::vector<float> want = direct(cfg, kv, layer, b, q);
      for (kernels::Isa isa : kernels::kIsas) {
        const kernels::CpuKernels* k = kernels::cpu_kernels_for(isa);
        if (!k) continue;
        std::vector<float> got(q.size(), std::nanf(""));
        attend_tiled(*k, cfg, kv, layer, b, q, got);
        EXPECT_LT(testing::nmse_vs(std::span<const float>(want), std::span<const float>(got)), 1e-10)
            << kernels::isa_name(isa) << " heads " << s.n_head << "/" << s.n_head_kv << " hd " << s.head_dim
            << " window " << s.window << " softcap " << s.softcap << " layer " << layer;
      }
    }
  }
}

}  // namespace
}  // namespace slm::model
