// Hyper-parameters from GGUF metadata: required keys, defaults, and consistency checks.
#include "model/config.h"

#include <cmath>

#include "core/error.h"
#include "io/gguf.h"

namespace slm::model {

int64_t meta_int(const gguf::File& f, const std::string& arch, const std::string& key) {
  const std::string full = arch + "." + key;
  const std::optional<uint64_t> v = f.get_uint(full);
  if (!v) fail("[model] metadata key '{}' missing (required for architecture '{}')", full, arch);
  if (*v > uint64_t(1) << 31) fail("[model] metadata key '{}' = {} is out of range", full, *v);
  return int64_t(*v);
}

int64_t meta_int_or(const gguf::File& f, const std::string& arch, const std::string& key, int64_t def) {
  const std::string full = arch + "." + key;
  if (!f.find(full)) return def;
  return meta_int(f, arch, key);
}

double meta_float_or(const gguf::File& f, const std::string& arch, const std::string& key, double def) {
  const std::optional<double> v = f.get_float(arch + "." + key);
  return v ? *v : def;
}

ModelConfig read_common_config(const gguf::File& f, const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.n_ctx = int(meta_int(f, arch, "context_length"));
  c.dim = int(meta_int(f, arch, "embedding_length"));
  c.n_layer = int(meta_int(f, arch, "block_count"));
  c.ffn_dim = int(meta_int(f, arch, "feed_forward_length"));
  c.n_head = int(meta_int(f, arch, "attention.head_count"));
  c.n_head_kv = int(meta_int_or(f, arch, "attention.head_count_kv", c.n_head));
  const int64_t def_hd = c.n_head > 0 ? c.dim / c.n_head : 0;
  c.head_dim = int(meta_int_or(f, arch, "attention.key_length", def_hd));
  const int64_t vlen = meta_int_or(f, arch, "attention.value_length", c.head_dim);
  if (vlen != c.head_dim)
    fail("[model] {}.attention.value_length = {} differs from key_length = {} (unsupported)", arch, vlen,
         c.head_dim);
  c.rope_dim = int(meta_int_or(f, arch, "rope.dimension_count", c.head_dim));
  c.rope_theta = float(meta_float_or(f, arch, "rope.freq_base", 10000.0));
  c.norm_eps = float(meta_float_or(f, arch, "attention.layer_norm_rms_epsilon", 1e-5));
  c.n_vocab = int(meta_int_or(f, arch, "vocab_size", 0));
  return c;
}

float ModelConfig::attn_scale() const {
  return query_scale > 0.0f ? query_scale : float(1.0 / std::sqrt(double(head_dim)));
}

void ModelConfig::validate(bool check_vocab) const {
  auto positive = [&](const char* what, int v) {
    if (v <= 0) fail("[model] {}: {} must be positive, got {}", arch, what, v);
  };
  if (check_vocab) positive("n_vocab", n_vocab);
  positive("context_length", n_ctx);
  positive("embedding_length", dim);
  positive("block_count", n_layer);
  positive("feed_forward_length", ffn_dim);
  positive("attention.head_count", n_head);
  positive("attention.head_count_kv", n_head_kv);
  positive("head_dim", head_dim);
  // Bounds far above any real model that keep every product below 2^31 (q_dim, kv_dim, row sizes).
  auto at_most = [&](const char* what, int v, int max) {
    if (v > max) fail("[model] {}: {} = {} is implausibly large (limit {})", arch, what, v, max);
  };
  at_most("embedding_length", dim, 1 << 20);
  at_most("feed_forward_length", ffn_dim, 1 << 22);
  at_most("block_count", n_layer, 1 << 14);
  at_most("attention.head_count", n_head, 1 << 12);
  at_most("head_dim", head_dim, 1 << 14);
  at_most("context_length", n_ctx, 1 << 30);
  if (n_head % n_head_kv != 0)
    fail("[model] {}: head_count {} is not a multiple of head_count_kv {}", arch, n_head, n_head_kv);
  if (rope_dim <= 0 || rope_dim > head_dim || rope_dim % 2 != 0)
    fail("[model] {}: rope.dimension_count {} must be even and in (0, head_dim = {}]", arch, rope_dim,
         head_dim);
  if (!(norm_eps > 0.0f) || !std::isfinite(norm_eps))
    fail("[model] {}: layer_norm_rms_epsilon must be positive, got {}", arch, norm_eps);
  if (!(rope_theta > 0.0f) || !std::isfinite(rope_theta))
    fail("[model] {}: rope.freq_base must be positive, got {}", arch, rope_theta);
  if (sliding_window < 0) fail("[model] {}: negative sliding window {}", arch, sliding_window);
  if (attn_softcap < 0.0f || final_softcap < 0.0f) fail("[model] {}: negative soft-capping value", arch);
}

}  // namespace slm::model
