// matmul_parallel(_fused): prepare activations (split by token rows when there are many), then split the
// weight rows of all matrices over the pool, once per block of tokens for prefill.
#include "kernels/parallel.h"

#include <array>
#include <vector>

#include "core/thread_pool.h"

namespace slm::kernels {

namespace {

// Pieces of at most ~kPieceBytes of weights: a thread that finishes first then waits at most that long for
// the other's last piece (Llama-3.2-1B's 215 MB output matrix in 16 pieces left up to 13 MB, ~0.5 ms).
constexpr size_t kPieceBytes = size_t(1) << 20;
int64_t pieces_for(size_t bytes) { return int64_t(bytes / kPieceBytes); }

// From this many tokens (prefill) activations are prepared on the pool, split by tokens (below, a pool loop
// costs more than preparing them on the calling thread), the rows run once per block of tokens within
// kBlockBytes, and each matrix keeps the pieces a loop of its own would cut.
constexpr int64_t kParallelPrepTokens = 64;
constexpr size_t kBlockBytes = size_t(4) << 20;

}  // namespace

void matmul_parallel(const CpuKernels& k, const MatView& w, std::span<const float> x, int64_t n,
                     std::span<float> y) {
  const MatmulOut out{&w, y};
  matmul_parallel_fused(k, std::span(&out, 1), x, n);
}

void matmul_parallel_fused(const CpuKernels& k, std::span<const MatmulOut> outs, std::span<const float> x,
                           int64_t n) {
  constexpr size_t kMax = 4;
  if (outs.size() > kMax) {
    for (const MatmulOut& o : outs) matmul_parallel(k, *o.w, x, n, o.y);
    return;
  }
  if (!k.matmul_rows || n <= 0) {
    for (const MatmulOut& o : outs) k.matmul(*o.w, x, n, o.y);
    return;
  }
  // Activations once per distinct (type, cols) (the prepared format depends on the type), in one buffer.
  thread_local std::vector<uint8_t> scratch;
  std::array<size_t, kMax> off{}, row{};
  std::array<bool, kMax> owner{};
  size_t total = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    row[i] = k.act_bytes(outs[i].w->type, outs[i].w->cols);
    owner[i] = true;
    for (size_t j = 0; j < i && owner[i]; ++j)
      if (outs[j].w->type == outs[i].w->type && outs[j].w->cols == outs[i].w->cols) off[i] = off[j], owner[i] = false;
    if (owner[i]) off[i] = total, total += row[i] * size_t(n);
  }
  if (scratch.size() < total) scratch.resize(total);
  uint8_t* xa = scratch.data();
  const auto prep = [&](int64_t t0, int64_t t1) {
    for (size_t i = 0; i < outs.size(); ++i)
      if (row[i] > 0 && owner[i]) k.prepare_act(outs[i].w->type, x.data(), n, outs[i].w->cols, t0, t1, xa + off[i]);
  };
  ThreadPool& pool = global_pool();
  if (total > 0) {
    if (n >= kParallelPrepTokens) {
      pool.for_range(n, kActTile, prep);
    } else {
      prep(0, n);
    }
  }
  std::array<int64_t, kMax + 1> first{};  // rows of matrix i are [first[i], first[i + 1]) of the loop
  size_t bytes = 0;
  int64_t pieces = 0;  // prefill: as many pieces as one loop per matrix would cut
  for (size_t i = 0; i < outs.size(); ++i) {
    first[i + 1] = first[i] + outs[i].w->rows;
    const size_t b = outs[i].w->row_bytes * size_t(outs[i].w->rows);
    bytes += b;
    pieces += std::max<int64_t>(8 * pool.size(), pieces_for(b));
  }
  // Many tokens: one pool loop per block of tokens whose prepared activations (f32 where there are none) fit
  // kBlockBytes, so that both threads read the same block from L3 while every range passes over it. A range
  // of a few groups re-reads all of its tokens' activations: packed F16 at 8192 columns (16 MiB for 512
  // tokens), one thread, ranges of 128 rows 80 GFLOP/s against 108 for all 2048 rows in one call.
  int64_t block = n;
  if (n >= kParallelPrepTokens) {
    size_t widest = 1;
    for (size_t i = 0; i < outs.size(); ++i)
      widest = std::max(widest, row[i] > 0 ? row[i] : size_t(outs[i].w->cols) * sizeof(float));
    block = std::max<int64_t>(kPrefillMinTokens, int64_t(kBlockBytes / widest) / kActTile * kActTile);
  }
  for (int64_t t0 = 0, nb = 0; t0 < n; t0 += nb) {
    // A tail shorter than kPrefillMinTokens joins the last block, so that every block takes the same
    // kernels and a token's bits do not depend on where the blocks fall.
    nb = n - t0 - block < kPrefillMinTokens ? n - t0 : block;
    // Ranges aligned to 16 rows keep each thread's block of rows whole (the kernels block rows by 16).
    pool.for_range(
        first[outs.size()], 16,
        [&](int64_t b, int64_t e) {
          for (size_t i = 0; i < outs.size(); ++i) {
            const int64_t r0 = std::max(b, first[i]) - first[i], r1 = std::min(e, first[i + 1]) - first[i];
            const MatView& w = *outs[i].w;
            if (r0 < r1)
              k.matmul_rows(w, x.data() + t0 * w.cols, row[i] > 0 ? xa + off[i] + size_t(t0) * row[i] : nullptr, nb,
                            r0, r1, outs[i].y.data() + t0 * w.rows);
          }
        },
        n >= kParallelPrepTokens ? pieces : pieces_for(bytes));
  }
}

}  // namespace slm::kernels
