// The batched decoder forward pass shared by every family (differences are ModelConfig values):
// embed -> n_layer x [norm, attention, (post-norm), residual, norm, MLP, (post-norm), residual] -> logits.
#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "core/error.h"
#include "kernels/parallel.h"
#include "model/blocks.h"
#include "model/lora.h"
#include "model/observe.h"
#include "model/model.h"

namespace slm::model {
namespace {

// Checks everything about the batch before the cache is touched, so a bad batch changes nothing.
void validate_batch(const ModelConfig& cfg, const Batch& b, const KvCache& kv, size_t logits_size) {
  const size_t n = b.tokens.size();
  if (b.positions.size() != n || b.seq_ids.size() != n || b.want_logits.size() != n)
    fail("[model] batch arrays differ in length: {} tokens, {} positions, {} seq ids, {} logit flags", n,
         b.positions.size(), b.seq_ids.size(), b.want_logits.size());
  if (kv.kv_dim() != cfg.kv_dim() || kv.n_layer() != cfg.n_layer)
    fail("[model] KV cache ({} layers x {} values) was made for a different model ({} x {})", kv.n_layer(),
         kv.kv_dim(), cfg.n_layer, cfg.kv_dim());
  std::map<int, int> next;  // seq -> next expected position
  for (size_t i = 0; i < n; ++i) {
    const int32_t tok = b.tokens[i], seq = b.seq_ids[i], pos = b.positions[i];
    if (tok < 0 || tok >= cfg.n_vocab)
      fail("[model] batch row {}: token id {} out of range [0, {})", i, tok, cfg.n_vocab);
    if (seq < 0 || seq >= kv.n_seq())
      fail("[model] batch row {}: sequence id {} out of range [0, {})", i, seq, kv.n_seq());
    auto it = next.try_emplace(seq, kv.seq_len(seq)).first;
    if (pos >= kv.n_ctx())
      fail("[model] sequence {}: position {} is past the context length {} (the KV cache holds {} positions)",
           seq, pos, kv.n_ctx(), kv.n_ctx());
    if (pos != it->second)
      fail("[model] batch row {}: sequence {} expects position {}, got {}", i, seq, it->second, pos);
    ++it->second;
  }
  const size_t want = b.n_logits() * size_t(cfg.n_vocab);
  if (logits_size != want)
    fail("[model] logits buffer holds {} floats, the batch needs {} ({} rows x {} vocab)", logits_size, want,
         b.n_logits(), cfg.n_vocab);
}

void residual(const kernels::CpuKernels& k, const ModelConfig& cfg, const std::vector<float>& post_norm,
              Scratch& s) {
  if (cfg.post_norms) rmsnorm_rows(k, s.o, post_norm, cfg.norm_eps, size_t(cfg.dim), s.o);
  const size_t dim = size_t(cfg.dim);
  over_rows(s.x.size() / dim, [&](int64_t r0, int64_t r1) {
    const size_t b = size_t(r0) * dim, e = size_t(r1) * dim;
    k.add(std::span(s.o).subspan(b, e - b), std::span(s.x).subspan(b, e - b));
  });
}

}  // namespace

void decoder_forward(const ModelConfig& cfg, const Weights& w, const Batch& batch, KvCache& kv,
                     std::span<float> logits_out) {
  validate_batch(cfg, batch, kv, logits_out.size());
  const size_t n = batch.size(), dim = size_t(cfg.dim);
  if (n == 0) return;
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  thread_local Scratch s;  // every buffer is written before it is read
  s.resize(cfg, n);
  for (size_t r = 0; r < n; ++r) {  // x: (n, dim)
    const std::span<float> xr = std::span(s.x).subspan(r * dim, dim);
    k.row_to_f32(w.tok_embd, batch.tokens[r], xr);
    if (cfg.embed_scale != 1.0f) k.scale(xr, cfg.embed_scale);
  }
  const RopeTable rt = rope_table(cfg, w.rope_freqs, batch.positions);
  // The last layer's output feeds only the logits, so past its K/V it runs for the rows that want logits
  // (none: the layer ends at the cache). Not while an observer collects statistics over every row.
  std::vector<int32_t> out_rows;
  for (size_t r = 0; r < n; ++r)
    if (batch.want_logits[r]) out_rows.push_back(int32_t(r));
  const bool trim = out_rows.size() < n && !matmul_observed();
  const KeptRows kept = trim ? kept_rows(batch, out_rows) : KeptRows{};
  Scratch* cur = &s;  // the rows going on: all of them, or in the trimmed last layer only out_rows
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerWeights& L = w.layers[size_t(l)];
    const bool last = trim && l + 1 == cfg.n_layer;
    rmsnorm_rows(k, s.x, L.attn_norm, cfg.norm_eps, dim, s.xn);
    attention_block(k, cfg, L, l, batch, rt, kv, s, last ? &kept : nullptr);
    if (last) {
      if (out_rows.empty()) break;
      // s.o holds the kept rows; they go on in a scratch of their own (s keeps its size for the next call).
      thread_local Scratch tail;
      tail.resize(cfg, out_rows.size());
      for (size_t i = 0; i < out_rows.size(); ++i)
        std::copy_n(s.x.begin() + std::ptrdiff_t(size_t(out_rows[i]) * dim), dim,
                    tail.x.begin() + std::ptrdiff_t(i * dim));
      std::copy_n(s.o.begin(), tail.o.size(), tail.o.begin());
      cur = &tail;
    }
    std::optional<LoraRowsScope> kept_adapters;  // the trimmed rows' own adapters
    if (last) kept_adapters.emplace(kept.batch.adapters);
    residual(k, cfg, L.post_attn_norm, *cur);
    rmsnorm_rows(k, cur->x, L.ffn_norm, cfg.norm_eps, dim, cur->xn);
    mlp_block(k, cfg, L, *cur);
    residual(k, cfg, L.post_ffn_norm, *cur);
  }
  std::map<int, int> len;
  for (size_t r = 0; r < n; ++r) len[batch.seq_ids[r]] = batch.positions[r] + 1;
  for (auto [seq, l] : len) kv.set_seq_len(seq, l);
  // Final norm and output projection only for rows that want logits: xs (m, dim) -> logits (m, n_vocab).
  std::vector<float> xs(out_rows.size() * dim);
  for (size_t i = 0; i < out_rows.size(); ++i) {
    const size_t r = trim ? i : size_t(out_rows[i]);  // trimmed: cur holds only those rows
    k.rmsnorm(std::span(cur->x).subspan(r * dim, dim), w.output_norm, cfg.norm_eps,
              std::span(xs).subspan(i * dim, dim));
  }
  const int64_t m = int64_t(xs.size() / dim);
  if (m == 0) return;
  kernels::matmul_parallel(k, w.output, xs, m, logits_out);
  if (cfg.final_softcap > 0.0f) k.softcap(logits_out, cfg.final_softcap);
}

}  // namespace slm::model
