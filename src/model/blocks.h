// The shared transformer blocks every family is assembled from: RoPE, grouped-query attention over the
// KV cache, the gated MLP. Activations are row-major (n_tokens, width) float buffers.
#pragma once

#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/weights.h"

namespace slm::model {

// cos/sin of every (row, frequency) pair: (n_rows, rope_dim / 2) each.
struct RopeTable {
  int half = 0;
  std::vector<float> cos, sin;
};
RopeTable rope_table(const ModelConfig& cfg, std::span<const float> freq_divisors,
                     std::span<const int32_t> positions);
// Rotates the first rope_dim values of one head vector for table row `row`.
void rope_apply(const ModelConfig& cfg, const RopeTable& rt, size_t row, std::span<float> head);

// Scratch buffers sized for one batch. decoder_forward keeps one per thread and resizes it per call
// (capacity is kept, so decode steps allocate nothing).
struct Scratch {
  std::vector<float> x, xn;       // (n, dim)
  std::vector<float> q, att;      // (n, q_dim)
  std::vector<float> k, v;        // (n, kv_dim)
  std::vector<float> o;           // (n, dim)
  std::vector<float> gate, up;    // (n, ffn)
  void resize(const ModelConfig& cfg, size_t n);
};

// Attention of one layer: s.xn -> s.o (n, dim). Projects q/k/v (+bias, q/k norm), applies RoPE, writes
// K/V for every batch row into the cache, then attends each row to its own sequence's positions <= its own.
// keep (the last layer when only some rows want logits): the rows whose output is needed. K and V of every
// row still go into the cache; q, attention and the output projection run for the kept rows only, and s.o
// holds their rows, in keep's order.
struct KeptRows {
  std::vector<int32_t> index;  // batch rows, ascending
  Batch batch;                 // those rows as a batch of their own (positions, sequences, adapters)
};
KeptRows kept_rows(const Batch& batch, std::vector<int32_t> index);
void attention_block(const kernels::CpuKernels& k, const ModelConfig& cfg, const LayerWeights& L, int layer,
                     const Batch& batch, const RopeTable& rt, KvCache& kv, Scratch& s, const KeptRows* keep = nullptr);

// Gated MLP: s.xn -> s.o (n, dim): down(act(gate(x)) * up(x)).
void mlp_block(const kernels::CpuKernels& k, const ModelConfig& cfg, const LayerWeights& L, Scratch& s);

// fn(r0, r1) over row ranges of [0, n): split over the pool when there are enough rows to pay for the fork
// (a decode step of many sequences, prefill), inline otherwise. Row-wise work gives the same bits either way.
template <class F>
void over_rows(size_t n, F&& fn) {
  if (n >= 4) {
    global_pool().for_range(int64_t(n), 1, fn);
  } else {
    fn(int64_t(0), int64_t(n));
  }
}

// RMSNorm of each `width`-wide row of x (n rows) into y.
void rmsnorm_rows(const kernels::CpuKernels& k, std::span<const float> x, std::span<const float> w, float eps,
                  size_t width, std::span<float> y);

}  // namespace slm::model
