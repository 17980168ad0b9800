// Tiled causal attention for many query rows at once (prefill): online softmax over tiles of KV positions.
#pragma once

#include <span>

#include "kernels/kernels.h"
#include "model/config.h"
#include "model/model.h"

namespace slm::model {

// Batches with at least this many rows per sequence on average take attend_tiled (fewer: one (row, head)
// at a time; a decode step of many sequences has one row each, where tiles would only add overhead).
constexpr size_t kTiledAttentionMinRows = 16;
bool use_tiled_attention(const Batch& batch);

// att: (n, q_dim) = softmax(q K^T * scale [softcap] [causal, sliding window]) V for every batch row, reading
// keys and values of positions lo..pos of the row's sequence through kv.k_head / kv.v_head (already written
// for this batch). Rows of one sequence and the query heads of one KV head are handled together: a tile of
// up to 64 rows x group queries meets tiles of up to 128 keys (never across a paged block) with a running
// max and sum per query, so each key tile is read once per row tile. Scores are one product (the table's
// matmul_rows) over the cache's rows in place, the queries carrying the scale; an f16 cache's values are
// added into the outputs in place as well (axpy_f16_rows), others through a transposed f32 tile.
// q: (n, q_dim) after RoPE. Splits (row tile, KV head) tasks over the global pool.
void attend_tiled(const kernels::CpuKernels& k, const ModelConfig& cfg, KvCache& kv, int layer, const Batch& batch,
                  std::span<const float> q, std::span<float> att);

}  // namespace slm::model
