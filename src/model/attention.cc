// Tiled (flash-style) attention for prefill: see attention.h.
#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/f16.h"
#include "core/thread_pool.h"

namespace slm::model {
namespace {

constexpr int kRowTile = 64;   // batch rows per task (times the GQA group = query rows)
constexpr int kKeyTile = 128;  // KV positions per step

// One task: rows [r0, r1) of the batch, all of sequence `seq`, and KV head `kh`.
struct Task {
  int r0, r1, seq, kh;
  int64_t work;  // key positions summed over the rows, for ordering
};

struct Buffers {  // per thread, grown on demand
  std::vector<float> q, s, vt, o, otmp, m, l;
};

// y: (n, w.rows) = x: (n, w.cols) @ w^T through the table.
void product(const kernels::CpuKernels& k, const kernels::MatView& w, const float* x, int64_t n, float* y) {
  if (k.matmul_rows) return k.matmul_rows(w, x, nullptr, n, 0, w.rows, y);
  k.matmul(w, std::span<const float>(x, size_t(n * w.cols)), n, std::span<float>(y, size_t(n * w.rows)));
}

// Positions [j0, j0 + tk) of one kv head's keys or values as a matrix (tk, head_dim) read in place: the
// cache keeps a head's positions one after another (within a block when paged; tiles do not cross blocks).
kernels::MatView cache_rows(KvType t, const void* first, int64_t tk, int64_t hd) {
  const size_t elem = t == KvType::f16 ? 2 : 4;
  return {t == KvType::f16 ? DType::F16 : DType::F32, static_cast<const uint8_t*>(first), tk, hd, size_t(hd) * elem};
}

// Scores of one query row for keys [j0, j0 + tk) (already scaled: q carries the scale) -> unnormalised
// probabilities against the running max m; returns the factor the earlier sums must be scaled by. Positions
// outside [lo, hi] get probability 0.
float online_softmax_row(const kernels::CpuKernels& k, const ModelConfig& cfg, float* s, int tk, int j0, int lo, int hi,
                         float& m, float& l) {
  const int a = std::max(lo - j0, 0), b = std::min(hi - j0 + 1, tk);  // valid [a, b)
  if (a >= b) {
    std::fill(s, s + tk, 0.0f);
    return 1.0f;
  }
  const std::span<float> valid(s + a, size_t(b - a));
  if (cfg.attn_softcap > 0.0f) k.softcap(valid, cfg.attn_softcap);
  const float mx = std::max(m, k.max(valid));
  const float alpha = m == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(m - mx);
  const float sum = k.exp_sum(valid, mx);
  std::fill(s, s + a, 0.0f);
  std::fill(s + b, s + tk, 0.0f);
  m = mx;
  l = l * alpha + sum;
  return alpha;
}

void run_task(const kernels::CpuKernels& k, const ModelConfig& cfg, KvCache& kv, int layer, const Batch& batch,
              std::span<const float> q, std::span<float> att, const Task& task, Buffers& b) {
  const int group = cfg.n_head / cfg.n_head_kv;
  const size_t hd = size_t(cfg.head_dim), qd = size_t(cfg.q_dim());
  const int nr = task.r1 - task.r0, nq = nr * group;  // query i: row r0 + i / group, head kh * group + i % group
  const bool slides = cfg.layer_slides(layer);
  auto lo_of = [&](int r) { return slides ? std::max(0, batch.positions[size_t(r)] - cfg.sliding_window + 1) : 0; };
  int lo = std::numeric_limits<int>::max(), hi = 0;
  for (int r = task.r0; r < task.r1; ++r) lo = std::min(lo, lo_of(r)), hi = std::max(hi, batch.positions[size_t(r)]);
  // f16 values go straight from the cache into o (axpy_f16_rows); otherwise a transposed tile and a product.
  const bool values_in_place = kv.type() == KvType::f16 && k.axpy_f16_rows;

  b.q.resize(size_t(nq) * hd), b.o.assign(size_t(nq) * hd, 0.0f), b.s.resize(size_t(nq) * kKeyTile);
  if (!values_in_place) b.otmp.resize(size_t(nq) * hd), b.vt.resize(kKeyTile * hd);
  b.m.assign(size_t(nq), -std::numeric_limits<float>::infinity()), b.l.assign(size_t(nq), 0.0f);
  const float scale = cfg.attn_scale();
  for (int i = 0; i < nq; ++i) {
    const size_t r = size_t(task.r0 + i / group), h = size_t(task.kh * group + i % group);
    const float* src = q.data() + r * qd + h * hd;
    float* dst = b.q.data() + size_t(i) * hd;
    for (size_t d = 0; d < hd; ++d) dst[d] = src[d] * scale;
  }
  for (int j0 = lo; j0 <= hi;) {
    const int tk = std::min({kKeyTile, hi - j0 + 1, kv.contiguous_rows(j0)});
    const kernels::MatView keys = cache_rows(kv.type(), kv.k_head(layer, task.seq, j0, task.kh), tk, int64_t(hd));
    product(k, keys, b.q.data(), nq, b.s.data());  // s: (nq, tk)
    for (int i = 0; i < nq; ++i) {
      const int r = task.r0 + i / group;
      const float alpha = online_softmax_row(k, cfg, &b.s[size_t(i) * size_t(tk)], tk, j0, lo_of(r),
                                             batch.positions[size_t(r)], b.m[size_t(i)], b.l[size_t(i)]);
      if (alpha != 1.0f) k.scale(std::span<float>(&b.o[size_t(i) * hd], hd), alpha);
    }
    const void* values = kv.v_head(layer, task.seq, j0, task.kh);
    if (values_in_place) {
      k.axpy_f16_rows(b.s.data(), size_t(nq), size_t(tk), size_t(tk), static_cast<const f16*>(values), hd, b.o.data(),
                      hd);
    } else {
      // V tile transposed: vt (hd, tk), so that o += p @ V is one more product.
      const kernels::MatView v = cache_rows(kv.type(), values, tk, int64_t(hd));
      float* row = b.otmp.data();  // a free head-sized buffer before otmp is written
      for (int j = 0; j < tk; ++j) {
        k.row_to_f32(v, j, std::span<float>(row, hd));
        for (size_t d = 0; d < hd; ++d) b.vt[d * size_t(tk) + size_t(j)] = row[d];
      }
      const kernels::MatView vt{DType::F32, reinterpret_cast<const uint8_t*>(b.vt.data()), int64_t(hd), tk,
                                size_t(tk) * sizeof(float)};
      product(k, vt, b.s.data(), nq, b.otmp.data());  // otmp: (nq, hd)
      k.add(b.otmp, b.o);
    }
    j0 += tk;
  }
  for (int i = 0; i < nq; ++i) {
    const size_t r = size_t(task.r0 + i / group), h = size_t(task.kh * group + i % group);
    const float inv = b.l[size_t(i)] > 0.0f ? 1.0f / b.l[size_t(i)] : 0.0f;
    float* out = att.data() + r * qd + h * hd;
    for (size_t d = 0; d < hd; ++d) out[d] = b.o[size_t(i) * hd + d] * inv;
  }
}

}  // namespace

bool use_tiled_attention(const Batch& batch) {
  const size_t n = batch.size();
  if (n < kTiledAttentionMinRows) return false;
  size_t n_seq = 0;  // distinct sequences (rows of one sequence are contiguous in practice; count changes)
  for (size_t r = 0; r < n; ++r) n_seq += r == 0 || batch.seq_ids[r] != batch.seq_ids[r - 1];
  return n >= kTiledAttentionMinRows * n_seq;
}

void attend_tiled(const kernels::CpuKernels& k, const ModelConfig& cfg, KvCache& kv, int layer, const Batch& batch,
                  std::span<const float> q, std::span<float> att) {
  std::vector<Task> tasks;
  const int n = int(batch.size());
  for (int r0 = 0; r0 < n;) {  // runs of one sequence, cut into row tiles
    int r1 = r0 + 1;
    while (r1 < n && r1 - r0 < kRowTile && batch.seq_ids[size_t(r1)] == batch.seq_ids[size_t(r0)]) ++r1;
    int64_t work = 0;
    for (int r = r0; r < r1; ++r) work += batch.positions[size_t(r)] + 1;
    for (int kh = 0; kh < cfg.n_head_kv; ++kh) tasks.push_back({r0, r1, batch.seq_ids[size_t(r0)], kh, work});
    r0 = r1;
  }
  // Largest first: the threads that claim the last tasks finish close together.
  std::stable_sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) { return a.work > b.work; });
  global_pool().parallel_for(int64_t(tasks.size()), [&](int64_t i) {
    thread_local Buffers b;
    run_task(k, cfg, kv, layer, batch, q, att, tasks[size_t(i)], b);
  });
}

}  // namespace slm::model
