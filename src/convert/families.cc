// Family table, tensor-name maps and hyper-parameter maps between config.json and GGUF metadata.
// Keys, types and tensor names follow what llama.cpp's convert_hf_to_gguf.py writes for each family.
#include "convert/families.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace slm::convert {
namespace {

using json = nlohmann::json;

constexpr std::array<Family, 6> kFamilies = {{
    {.gguf_arch = "llama", .hf_class = "LlamaForCausalLM", .model_type = "llama", .permute_qk = true},
    {.gguf_arch = "llama", .hf_class = "MistralForCausalLM", .model_type = "mistral", .permute_qk = true},
    {.gguf_arch = "qwen2", .hf_class = "Qwen2ForCausalLM", .model_type = "qwen2"},
    {.gguf_arch = "qwen3", .hf_class = "Qwen3ForCausalLM", .model_type = "qwen3"},
    {.gguf_arch = "phi3", .hf_class = "Phi3ForCausalLM", .model_type = "phi3"},
    {.gguf_arch = "gemma2", .hf_class = "Gemma2ForCausalLM", .model_type = "gemma2", .norm_plus_one = true},
}};

struct NamePair {
  std::string_view hf, gguf;
};

// Whole-model tensors.
constexpr std::array<NamePair, 3> kGlobalNames = {{
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
}};

// Per-layer suffixes after "model.layers.N." / "blk.N." (weights and biases both map).
constexpr std::array<NamePair, 10> kLayerNames = {{
    {"input_layernorm", "attn_norm"},
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"},
    {"self_attn.qkv_proj", "attn_qkv"},  // phi3: fused q, k, v
    {"self_attn.q_norm", "attn_q_norm"},  // qwen3
    {"self_attn.k_norm", "attn_k_norm"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.down_proj", "ffn_down"},
}};

// Names whose GGUF counterpart depends on the family.
std::string_view layer_gguf_name(const Family& f, std::string_view hf) {
  for (const NamePair& p : kLayerNames)
    if (p.hf == hf) return p.gguf;
  if (hf == "mlp.up_proj" || hf == "mlp.gate_up_proj") return "ffn_up";  // phi3: ffn_up = [gate; up]
  if (f.gguf_arch == "gemma2") {
    if (hf == "post_attention_layernorm") return "post_attention_norm";
    if (hf == "pre_feedforward_layernorm") return "ffn_norm";
    if (hf == "post_feedforward_layernorm") return "post_ffw_norm";
  } else if (hf == "post_attention_layernorm") {
    return "ffn_norm";
  }
  return {};
}

std::string_view layer_hf_name(const Family& f, std::string_view gguf) {
  for (const NamePair& p : kLayerNames)
    if (p.gguf == gguf) return p.hf;
  if (gguf == "ffn_up") return f.gguf_arch == "phi3" ? "mlp.gate_up_proj" : "mlp.up_proj";
  if (f.gguf_arch == "gemma2") {
    if (gguf == "post_attention_norm") return "post_attention_layernorm";
    if (gguf == "ffn_norm") return "pre_feedforward_layernorm";
    if (gguf == "post_ffw_norm") return "post_feedforward_layernorm";
  } else if (gguf == "ffn_norm") {
    return "post_attention_layernorm";
  }
  return {};
}

// Splits "<prefix><digits>.<rest>" into layer and rest; false when `name` does not start that way.
bool split_layer(std::string_view name, std::string_view prefix, int* layer, std::string_view* rest) {
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > 6) return false;
  int v = 0;
  for (char c : name.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *layer = v;
  *rest = name.substr(dot + 1);
  return true;
}

// Splits "x.weight" / "x.bias" into stem and suffix.
bool split_suffix(std::string_view name, std::string_view* stem, std::string_view* suffix) {
  for (std::string_view s : {std::string_view(".weight"), std::string_view(".bias")}) {
    if (name.ends_with(s)) {
      *stem = name.substr(0, name.size() - s.size());
      *suffix = s;
      return true;
    }
  }
  return false;
}

int64_t need_int(const json& c, const char* key) {
  const auto it = c.find(key);
  if (it == c.end() || !it->is_number_integer() || it->get<int64_t>() < 0)
    fail("[convert] config.json: '{}' must be a non-negative integer", key);
  return it->get<int64_t>();
}

std::optional<int64_t> opt_int(const json& c, const char* key) {
  const auto it = c.find(key);
  if (it == c.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    fail("[convert] config.json: '{}' must be a non-negative integer", key);
  return it->get<int64_t>();
}

// A string member of an object ("" when absent or null); any other type is an error naming `where`.key.
std::string opt_str(const json& o, const char* key, const char* where) {
  const auto it = o.find(key);
  if (it == o.end() || it->is_null()) return "";
  if (!it->is_string()) fail("[convert] config.json: '{}.{}' must be a string", where, key);
  return it->get<std::string>();
}

std::optional<double> opt_num(const json& c, const char* key) {
  const auto it = c.find(key);
  if (it == c.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail("[convert] config.json: '{}' must be a number", key);
  return it->get<double>();
}

gguf::KeyValue kv_u32(const Family& f, std::string_view key, int64_t v) {
  if (v > int64_t(UINT32_MAX)) fail("[convert] config.json: {} = {} does not fit in u32", key, v);
  return {fmt::format("{}.{}", f.gguf_arch, key), gguf::Value{uint32_t(v)}};
}
gguf::KeyValue kv_f32(const Family& f, std::string_view key, double v) {
  return {fmt::format("{}.{}", f.gguf_arch, key), gguf::Value{float(v)}};
}

// The shortest decimal that reads back as the same float (1e-05, not 9.999999747378752e-06).
double pretty(float v) { return std::stod(fmt::format("{}", v)); }

// phi3 rope scaling: nullopt without rope_scaling; else the attention factor llama.cpp's converter writes
// (longrope/su: sqrt(1 + ln(s) / ln(original context)); yarn: 0.1 ln(s) + 1; s = context / original).
std::optional<double> phi3_attn_factor(const json& c) {
  const auto rs = c.find("rope_scaling");
  if (rs == c.end() || rs->is_null()) return std::nullopt;
  if (!rs->is_object()) fail("[convert] config.json: rope_scaling must be an object");
  std::string type = opt_str(*rs, "type", "rope_scaling");
  if (type.empty()) type = opt_str(*rs, "rope_type", "rope_scaling");
  for (char& ch : type) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  const double ctx = double(need_int(c, "max_position_embeddings"));
  const double orig = double(need_int(c, "original_max_position_embeddings"));
  const double scale = orig > 0 ? ctx / orig : 1.0;
  if (type == "su" || type == "longrope") return scale > 1.0 ? std::sqrt(1 + std::log(scale) / std::log(orig)) : 1.0;
  if (type == "yarn") return scale > 1.0 ? 0.1 * std::log(scale) + 1.0 : 1.0;
  fail("[convert] config.json: phi3 rope_scaling type '{}' is not supported (longrope, su, yarn are)", type);
}

}  // namespace

const Family* family_for_hf_class(std::string_view hf_class) {
  for (const Family& f : kFamilies)
    if (f.hf_class == hf_class) return &f;
  return nullptr;
}

const Family* family_for_gguf_arch(std::string_view arch) {
  for (const Family& f : kFamilies)
    if (f.gguf_arch == arch) return &f;
  return nullptr;
}

std::string known_hf_classes() {
  std::string s;
  for (const Family& f : kFamilies) s += (s.empty() ? "" : ", ") + std::string(f.hf_class);
  return s;
}

bool is_ignorable_hf_tensor(std::string_view n) {
  return n.ends_with(".rotary_emb.inv_freq") || n.ends_with(".attention.masked_bias") || n.ends_with(".attention.bias");
}

std::optional<std::string> gguf_tensor_name(const Family& f, std::string_view hf) {
  for (const NamePair& p : kGlobalNames)
    if (p.hf == hf) return std::string(p.gguf);
  int layer = 0;
  std::string_view rest, stem, suffix;
  if (!split_layer(hf, "model.layers.", &layer, &rest) || !split_suffix(rest, &stem, &suffix)) return std::nullopt;
  const std::string_view g = layer_gguf_name(f, stem);
  if (g.empty()) return std::nullopt;
  return fmt::format("blk.{}.{}{}", layer, g, suffix);
}

std::optional<std::string> hf_tensor_name(const Family& f, std::string_view gguf) {
  for (const NamePair& p : kGlobalNames)
    if (p.gguf == gguf) return std::string(p.hf);
  int layer = 0;
  std::string_view rest, stem, suffix;
  if (!split_layer(gguf, "blk.", &layer, &rest) || !split_suffix(rest, &stem, &suffix)) return std::nullopt;
  const std::string_view h = layer_hf_name(f, stem);
  if (h.empty()) return std::nullopt;
  return fmt::format("model.layers.{}.{}{}", layer, h, suffix);
}

HeadCounts head_counts(const json& c) {
  HeadCounts h;
  h.n_head = need_int(c, "num_attention_heads");
  h.n_head_kv = opt_int(c, "num_key_value_heads").value_or(h.n_head);
  if (h.n_head == 0 || h.n_head_kv == 0) fail("[convert] config.json: head counts must be positive");
  return h;
}

std::vector<gguf::KeyValue> hparams_to_gguf(const Family& f, const json& c) {
  std::vector<gguf::KeyValue> kv;
  const HeadCounts h = head_counts(c);
  const int64_t hidden = need_int(c, "hidden_size");
  kv.push_back(kv_u32(f, "block_count", need_int(c, "num_hidden_layers")));
  if (auto v = opt_int(c, "max_position_embeddings")) kv.push_back(kv_u32(f, "context_length", *v));
  if (f.gguf_arch == "phi3")
    if (auto v = opt_int(c, "original_max_position_embeddings"))
      kv.push_back(kv_u32(f, "rope.scaling.original_context_length", *v));
  kv.push_back(kv_u32(f, "embedding_length", hidden));
  kv.push_back(kv_u32(f, "feed_forward_length", need_int(c, "intermediate_size")));
  kv.push_back(kv_u32(f, "attention.head_count", h.n_head));
  kv.push_back(kv_u32(f, "attention.head_count_kv", h.n_head_kv));
  if (auto v = opt_num(c, "rope_theta")) kv.push_back(kv_f32(f, "rope.freq_base", *v));
  if (auto v = opt_num(c, "rms_norm_eps")) kv.push_back(kv_f32(f, "attention.layer_norm_rms_epsilon", *v));
  const std::optional<int64_t> head_dim = opt_int(c, "head_dim");
  if (head_dim && f.gguf_arch != "phi3") {
    kv.push_back(kv_u32(f, "attention.key_length", *head_dim));
    kv.push_back(kv_u32(f, "attention.value_length", *head_dim));
  }
  if (f.gguf_arch == "llama") {
    if (auto v = opt_int(c, "vocab_size")) kv.push_back(kv_u32(f, "vocab_size", *v));
    kv.push_back(kv_u32(f, "rope.dimension_count", head_dim.value_or(hidden / h.n_head)));
    const auto rs = c.find("rope_scaling");
    if (rs != c.end() && rs->is_object() && opt_str(*rs, "type", "rope_scaling") == "linear") {
      if (const std::optional<double> factor = opt_num(*rs, "factor")) {
        kv.push_back({"llama.rope.scaling.type", gguf::Value{std::string("linear")}});
        kv.push_back(kv_f32(f, "rope.scaling.factor", *factor));
      }
    }
  } else if (f.gguf_arch == "phi3") {
    kv.push_back(kv_u32(f, "rope.dimension_count", hidden / h.n_head));
    kv.push_back(kv_u32(f, "attention.sliding_window", opt_int(c, "sliding_window").value_or(0)));
    if (auto a = phi3_attn_factor(c)) kv.push_back(kv_f32(f, "rope.scaling.attn_factor", *a));
  } else if (f.gguf_arch == "gemma2") {
    if (!head_dim) fail("[convert] config.json: gemma2 needs 'head_dim'");
    kv.push_back(kv_f32(f, "attn_logit_softcapping", opt_num(c, "attn_logit_softcapping").value_or(50.0)));
    kv.push_back(kv_f32(f, "final_logit_softcapping", opt_num(c, "final_logit_softcapping").value_or(30.0)));
    kv.push_back(kv_u32(f, "attention.sliding_window", need_int(c, "sliding_window")));
  }
  return kv;
}

json hparams_to_hf(const Family& f, const gguf::File& g) {
  const std::string a(f.gguf_arch);
  auto u = [&](const char* key) -> std::optional<uint64_t> { return g.get_uint(a + "." + key); };
  auto need = [&](const char* key) -> uint64_t {
    const auto v = u(key);
    if (!v) fail("[convert] {}: missing '{}.{}'", g.name(), a, key);
    return *v;
  };
  auto fl = [&](const char* key) -> std::optional<double> {
    const auto v = g.get_float(a + "." + key);
    return v ? std::optional<double>(pretty(float(*v))) : std::nullopt;
  };
  json c;
  c["architectures"] = json::array({std::string(f.hf_class)});
  c["model_type"] = std::string(f.model_type);
  const uint64_t hidden = need("embedding_length"), n_head = need("attention.head_count");
  c["hidden_size"] = hidden;
  c["num_hidden_layers"] = need("block_count");
  c["intermediate_size"] = need("feed_forward_length");
  c["num_attention_heads"] = n_head;
  c["num_key_value_heads"] = u("attention.head_count_kv").value_or(n_head);
  if (auto v = u("context_length")) c["max_position_embeddings"] = *v;
  if (auto v = fl("rope.freq_base")) c["rope_theta"] = *v;
  if (auto v = fl("attention.layer_norm_rms_epsilon")) c["rms_norm_eps"] = *v;
  const uint64_t head_dim = u("attention.key_length").value_or(n_head ? hidden / n_head : 0);
  c["head_dim"] = head_dim;
  c["hidden_act"] = f.gguf_arch == "gemma2" ? "gelu_pytorch_tanh" : "silu";
  if (f.gguf_arch == "phi3") {
    if (auto v = u("rope.scaling.original_context_length")) c["original_max_position_embeddings"] = *v;
    const auto sw = u("attention.sliding_window");
    c["sliding_window"] = sw && *sw ? json(*sw) : json(nullptr);
  } else if (f.gguf_arch == "gemma2") {
    c["hidden_activation"] = "gelu_pytorch_tanh";
    c["query_pre_attn_scalar"] = head_dim;
    if (auto v = fl("attn_logit_softcapping")) c["attn_logit_softcapping"] = *v;
    if (auto v = fl("final_logit_softcapping")) c["final_logit_softcapping"] = *v;
    if (auto v = u("attention.sliding_window")) c["sliding_window"] = *v;
  }
  if (f.gguf_arch == "llama" && g.get_string("llama.rope.scaling.type") == std::optional<std::string>("linear"))
    if (auto v = fl("rope.scaling.factor")) c["rope_scaling"] = {{"type", "linear"}, {"factor", *v}};
  return c;
}

std::vector<std::pair<std::string, std::vector<float>>> generated_tensors(const Family& f, const json& c) {
  std::vector<std::pair<std::string, std::vector<float>>> out;
  if (f.gguf_arch == "llama") {
    std::vector<float> r = llama3_rope_factors(c);
    if (!r.empty()) out.emplace_back("rope_freqs.weight", std::move(r));
  } else if (f.gguf_arch == "phi3" && phi3_attn_factor(c)) {
    const json& rs = c["rope_scaling"];
    const int64_t half = need_int(c, "hidden_size") / head_counts(c).n_head / 2;
    for (const char* k : {"long", "short"}) {
      const json v = rs.value(std::string(k) + "_factor", json());
      if (!v.is_array() || int64_t(v.size()) != half)
        fail("[convert] config.json: rope_scaling.{}_factor must be a list of {} numbers", k, half);
      std::vector<float> x;
      for (const json& e : v) {
        if (!e.is_number()) fail("[convert] config.json: rope_scaling.{}_factor holds a non-number", k);
        x.push_back(float(e.get<double>()));
      }
      out.emplace_back(fmt::format("rope_factors_{}.weight", k), std::move(x));
    }
  }
  return out;
}

std::vector<float> llama3_rope_factors(const json& c) {
  const auto rs = c.find("rope_scaling");
  if (rs == c.end() || !rs->is_object()) return {};
  std::string type = opt_str(*rs, "rope_type", "rope_scaling");
  for (char& ch : type) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  if (type != "llama3") return {};
  const double base = opt_num(c, "rope_theta").value_or(10000.0);
  const HeadCounts h = head_counts(c);
  const int64_t dim = opt_int(c, "head_dim").value_or(need_int(c, "hidden_size") / h.n_head);
  auto num = [&](const char* key, double def) {
    const auto it = rs->find(key);
    return it != rs->end() && it->is_number() ? it->get<double>() : def;
  };
  const double factor = num("factor", 8.0), low = num("low_freq_factor", 1.0), high = num("high_freq_factor", 4.0);
  const double old_ctx = num("original_max_position_embeddings", double(opt_int(c, "original_max_position_embeddings").value_or(8192)));
  if (old_ctx / low == old_ctx / high) fail("[convert] config.json: rope_scaling low and high frequency factors are equal");
  // The reference converter does this arithmetic on float32 tensors (Python scalars rounded to float32).
  const float f_factor = float(factor), f_low = float(low), f_high = float(high), f_old = float(old_ctx);
  const float low_wavelen = float(old_ctx / low), high_wavelen = float(old_ctx / high);
  std::vector<float> out;
  for (int64_t i = 0; i < dim; i += 2) {
    const float freq = 1.0f / std::pow(float(base), float(i) / float(dim));
    const float wavelen = float(2 * std::numbers::pi) / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(f_factor);
    } else {
      const float smooth = (f_old / wavelen - f_low) / (f_high - f_low);
      out.push_back(1.0f / ((1.0f - smooth) / f_factor + smooth));
    }
  }
  return out;
}

}  // namespace slm::convert
