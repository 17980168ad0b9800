// GGUF -> Hugging Face folder: safetensors in Hugging Face names and layouts, config.json,
// generation_config.json, tokenizer files when possible, and the side file that makes the way back exact.
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "convert/convert.h"
#include "convert/families.h"
#include "convert/hf_vocab.h"
#include "convert/side_file.h"
#include "convert/tensor_ops.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "quant/quant.h"

namespace slm::convert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) fail("[convert] {}: write failed", p.string());
}

void write_json(const fs::path& p, const json& j) { write_text(p, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n"); }

const char* torch_dtype_of(const gguf::File& g) {
  switch (g.get_uint("general.file_type").value_or(0)) {
    case 1: return "float16";
    case 32: return "bfloat16";
    default: return "float32";
  }
}

// Llama 3.1 rope scaling parameters that reproduce `factors` exactly, or null. The factor is the largest
// entry; the other parameters are the published Llama 3.1 values (low 1, high 4, original context 8192).
json infer_llama3_rope_scaling(json cfg, std::span<const float> factors) {
  float mx = 1.0f;
  for (float f : factors) mx = std::max(mx, f);
  cfg["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", double(mx)}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  const std::vector<float> again = llama3_rope_factors(cfg);
  if (again.size() != factors.size() || std::memcmp(again.data(), factors.data(), factors.size() * 4) != 0) return nullptr;
  return cfg["rope_scaling"];
}

}  // namespace

ExportSummary export_hf(const std::string& gguf_path, const std::string& out_dir) {
  const gguf::File g = gguf::File::open(gguf_path);
  const std::string arch = g.get_string("general.architecture").value_or("");
  const Family* fam = family_for_gguf_arch(arch);
  if (!fam) fail("[convert] {}: architecture '{}' cannot be exported (llama, qwen2, qwen3, phi3, gemma2 can)", gguf_path, arch);
  fs::create_directories(out_dir);
  const fs::path d(out_dir);

  json cfg = hparams_to_hf(*fam, g);
  if (!g.get_uint(arch + ".attention.key_length")) cfg.erase("head_dim");
  const int64_t n_head = cfg["num_attention_heads"].get<int64_t>(), n_head_kv = cfg["num_key_value_heads"].get<int64_t>();

  SideFile side;
  side.version = g.version();
  side.alignment = g.alignment();
  side.metadata = g.metadata();
  safetensors::Writer st, extra;
  std::deque<std::vector<uint8_t>> buffers;  // converted bytes, alive until the writers run
  const gguf::TensorInfo* rope_freqs = nullptr;
  std::vector<const gguf::TensorInfo*> phi3_factors;  // rope_factors_long / _short
  for (const gguf::TensorInfo& t : g.tensors()) {
    const std::vector<int64_t> shape(t.ne.rbegin(), t.ne.rend());  // Hugging Face order
    std::span<const uint8_t> bytes = g.tensor_data(t);
    const std::optional<std::string> hf = hf_tensor_name(*fam, t.name);
    SideTensor s{.name = t.name, .type = t.type, .hf = hf.value_or("")};
    if (!hf) {  // no Hugging Face name: kept verbatim in the side tensors (rope_freqs may be regenerated)
      if (t.name == "rope_freqs.weight" && t.type == DType::F32) rope_freqs = &t;
      else if (fam->gguf_arch == "phi3" && t.type == DType::F32 && t.ne.size() == 1 &&
               (t.name == "rope_factors_long.weight" || t.name == "rope_factors_short.weight"))
        phi3_factors.push_back(&t);
      else extra.add_tensor(t.name, t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16 ? t.type : DType::F32, shape, bytes);
      side.tensors.push_back(s);
      continue;
    }
    DType type = t.type;
    const int64_t n = t.n_elements();
    if (type != DType::F32 && type != DType::F16 && type != DType::BF16) {  // quantised: dequantise to F32
      if (!quant::can_dequantize(type)) fail("[convert] {}: tensor '{}': cannot dequantise {}", gguf_path, t.name, dtype_info(type).name);
      std::vector<float> x(static_cast<size_t>(n));
      quant::dequantize(type, bytes.data(), x.data(), n);
      buffers.push_back(from_f32(DType::F32, x, 1, n));
      bytes = buffers.back();
      type = DType::F32;
    }
    const bool is_q = t.name.ends_with("attn_q.weight") || t.name.ends_with("attn_q.bias");
    const bool is_k = t.name.ends_with("attn_k.weight") || t.name.ends_with("attn_k.bias");
    if (fam->permute_qk && (is_q || is_k)) {
      const int64_t rows = shape.empty() ? 0 : shape[0];
      buffers.push_back(unpermute_qk(bytes, rows, rows ? bytes.size() / size_t(rows) : 0, is_q ? n_head : n_head_kv));
      bytes = buffers.back();
    }
    if (fam->norm_plus_one && hf->ends_with("norm.weight")) {
      std::vector<float> x = to_f32(type, bytes, n);
      bool exact = type == DType::F32;
      for (float& v : x) {
        const float w = v - 1.0f;
        exact = exact && (w + 1.0f == v || (v != v && w != w));
        v = w;
      }
      buffers.push_back(from_f32(type, x, 1, n));
      bytes = buffers.back();
      if (!exact) extra.add_tensor(t.name, t.type, shape, g.tensor_data(t));  // the way back must be exact
    }
    st.add_tensor(*hf, type, shape, bytes);
    side.tensors.push_back(s);
  }
  if (rope_freqs) {
    const std::span<const uint8_t> b = g.tensor_data(*rope_freqs);
    std::vector<float> f(b.size() / 4);
    std::memcpy(f.data(), b.data(), f.size() * 4);
    const json rs = infer_llama3_rope_scaling(cfg, f);
    if (!rs.is_null()) cfg["rope_scaling"] = rs;
    else extra.add_tensor(rope_freqs->name, DType::F32, {rope_freqs->ne[0]}, b);
  }

  if (!phi3_factors.empty()) {  // longrope: the factors travel in config.json as Hugging Face keeps them
    json rs{{"type", "longrope"}};
    for (const gguf::TensorInfo* t : phi3_factors) {
      std::vector<float> f(size_t(t->ne[0]));
      std::memcpy(f.data(), g.tensor_data(*t).data(), f.size() * 4);
      json list = json::array();
      for (float x : f) list.push_back(double(x));
      rs[t->name == "rope_factors_long.weight" ? "long_factor" : "short_factor"] = list;
    }
    if (phi3_factors.size() == 2 && cfg.contains("original_max_position_embeddings")) {
      cfg["rope_scaling"] = rs;
    } else {
      for (const gguf::TensorInfo* t : phi3_factors) extra.add_tensor(t->name, DType::F32, {t->ne[0]}, g.tensor_data(*t));
    }
  }

  const gguf::Array* tokens = g.get_array("tokenizer.ggml.tokens");
  cfg["vocab_size"] = tokens ? tokens->items.size() : 0;
  if (const gguf::TensorInfo* e = g.find_tensor("token_embd.weight"); e && e->ne.size() == 2) cfg["vocab_size"] = e->ne[1];
  cfg["tie_word_embeddings"] = g.find_tensor("output.weight") == nullptr;
  cfg["torch_dtype"] = torch_dtype_of(g);
  if (fam->gguf_arch == "qwen2") cfg["attention_bias"] = true;
  json gen{{"_from_model_config", true}};
  for (const auto& [k, key] : {std::pair{"bos_token_id", "tokenizer.ggml.bos_token_id"},
                               std::pair{"eos_token_id", "tokenizer.ggml.eos_token_id"},
                               std::pair{"pad_token_id", "tokenizer.ggml.padding_token_id"}}) {
    const auto v = g.get_uint(key);
    if (v && *v < uint64_t(UINT32_MAX)) cfg[k] = gen[k] = *v;
  }

  ExportSummary sum{.arch = arch, .n_tensors = st.n_tensors(), .n_side_tensors = extra.n_tensors()};
  st.set_metadata("format", "pt");
  st.write((d / "model.safetensors").string());
  if (extra.n_tensors()) extra.write((d / kSideTensors).string());
  else fs::remove(d / kSideTensors);
  write_json(d / "config.json", cfg);
  write_json(d / "generation_config.json", gen);
  if (const auto tok = vocab_to_hf(g)) {
    write_json(d / "tokenizer.json", tok->tokenizer);
    write_json(d / "tokenizer_config.json", tok->tokenizer_config);
    sum.tokenizer_files = true;
    side.tokenizer_fingerprint = files_fingerprint({(d / "tokenizer.json").string(), (d / "tokenizer_config.json").string()});
  } else {
    fs::remove(d / "tokenizer.json");
    fs::remove(d / "tokenizer_config.json");
  }
  write_json(d / kSideFile, side_to_json(side));
  return sum;
}

}  // namespace slm::convert
