// Hugging Face folder -> GGUF: config.json to hyper-parameters, tokenizer files to tokenizer.*,
// safetensors tensors renamed, permuted (llama q/k), shifted (gemma2 norms) and cast.
#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <set>

#include "convert/convert.h"
#include "convert/families.h"
#include "convert/hf_vocab.h"
#include "convert/side_file.h"
#include "convert/tensor_ops.h"
#include "core/error.h"
#include "core/f16.h"
#include "io/safetensors.h"

namespace slm::convert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct TensorSource {
  std::span<const uint8_t> data;
  DType type;
  std::vector<int64_t> shape;  // Hugging Face order
};

// The output tensors, owning their converted bytes until the writer runs.
struct Output {
  gguf::Writer writer;
  std::deque<std::vector<uint8_t>> buffers;
  std::map<DType, size_t> matrix_types;
  size_t n = 0;

  void add(const std::string& name, DType t, const std::vector<int64_t>& shape, std::vector<uint8_t> bytes) {
    buffers.push_back(std::move(bytes));
    add_view(name, t, shape, buffers.back());
  }
  void add_view(const std::string& name, DType t, const std::vector<int64_t>& shape, std::span<const uint8_t> bytes) {
    writer.add_tensor(name, t, std::vector<int64_t>(shape.rbegin(), shape.rend()), bytes);
    if (shape.size() >= 2) ++matrix_types[t];
    ++n;
  }
};

bool is_norm_weight(std::string_view hf) { return hf.ends_with("norm.weight"); }

// One Hugging Face tensor to its GGUF form. `want`: output type (nullopt: the rule's default).
void convert_tensor(const Family& fam, const json& cfg, const std::string& hf, const std::string& gname,
                    const TensorSource& src, std::optional<DType> want_exact, std::optional<DType> want, Output& out) {
  const int64_t n = [&] {
    int64_t v = 1;
    for (int64_t d : src.shape) v *= d;
    return v;
  }();
  const int64_t row_len = src.shape.empty() ? 1 : src.shape.back();
  const int64_t n_rows = row_len ? n / row_len : 0;
  const DType t = want_exact.value_or(output_type(gname, src.shape.size(), row_len, src.type, want));
  std::span<const uint8_t> bytes = src.data;
  std::vector<uint8_t> permuted;
  const bool is_q = gname.ends_with("attn_q.weight") || gname.ends_with("attn_q.bias");
  const bool is_k = gname.ends_with("attn_k.weight") || gname.ends_with("attn_k.bias");
  if (fam.permute_qk && (is_q || is_k)) {
    const HeadCounts h = head_counts(cfg);
    const int64_t rows = src.shape.empty() ? 0 : src.shape[0];
    permuted = permute_qk(bytes, rows, rows ? bytes.size() / size_t(rows) : 0, is_q ? h.n_head : h.n_head_kv);
    bytes = permuted;
  }
  const bool plus_one = fam.norm_plus_one && is_norm_weight(hf);
  if (t == src.type && !plus_one) {
    if (permuted.empty()) out.add_view(gname, t, src.shape, bytes);
    else out.add(gname, t, src.shape, std::move(permuted));
    return;
  }
  std::vector<float> x = to_f32(src.type, bytes, n);
  if (plus_one) {
    // Gemma stores w and multiplies by (1 + w); GGUF stores (1 + w). An F16 source adds in F16.
    for (float& v : x) v = src.type == DType::F16 ? f16_to_f32(f32_to_f16(v + 1.0f)) : v + 1.0f;
  }
  out.add(gname, t, src.shape, from_f32(t, x, n_rows, row_len));
}

std::string default_name(const json& cfg, const std::string& dir) {
  if (cfg.contains("_name_or_path") && cfg["_name_or_path"].is_string()) {
    const std::string p = cfg["_name_or_path"].get<std::string>();
    if (!p.empty()) return fs::path(p).filename().string();
  }
  return fs::path(dir).lexically_normal().filename().string().empty() ? "model"
                                                                       : fs::path(dir).lexically_normal().filename().string();
}

// config.json with generation_config.json's special ids filling what config.json lacks.
json special_id_source(const json& cfg, const json& gen) {
  json c = cfg.is_object() ? cfg : json::object();
  if (gen.is_object())
    for (const char* k : {"bos_token_id", "eos_token_id", "pad_token_id"})
      if (!c.contains(k) || c[k].is_null())
        if (gen.contains(k)) c[k] = gen[k];
  return c;
}

// Merges derived metadata into the side file's: side order and values, derived values replacing
// side values of the same key (so edits to config.json win) except for `side_only` keys, new derived
// keys appended.
std::vector<gguf::KeyValue> merge_metadata(std::vector<gguf::KeyValue> side, const std::vector<gguf::KeyValue>& derived,
                                           const std::set<std::string>& side_only) {
  for (const gguf::KeyValue& d : derived) {
    auto it = std::find_if(side.begin(), side.end(), [&](const gguf::KeyValue& s) { return s.key == d.key; });
    if (it == side.end()) side.push_back(d);
    else if (!side_only.count(d.key)) it->value = d.value;
  }
  return side;
}

}  // namespace

DType parse_output_type(const std::string& s) {
  const auto t = dtype_from_name(s);
  if (!t || (*t != DType::F32 && *t != DType::F16 && *t != DType::BF16 && *t != DType::Q8_0))
    fail("[convert] output type '{}' is not one of f32, f16, bf16, q8_0", s);
  return *t;
}

namespace {

// What every step of convert_hf reads.
struct Source {
  fs::path dir;
  json cfg;
  const Family* fam = nullptr;
  std::optional<SideFile> side;
};

Source open_source(const std::string& dir, const HfOptions& opt) {
  Source src;
  src.dir = dir;
  if (!fs::is_directory(src.dir)) fail("[convert] {}: not a directory", dir);
  src.cfg = read_json_file((src.dir / "config.json").string(), true);
  if (!src.cfg.is_object()) fail("[convert] {}/config.json: not a JSON object", dir);
  const json archs = src.cfg.value("architectures", json::array());
  const std::string hf_class = archs.is_array() && !archs.empty() && archs[0].is_string() ? archs[0].get<std::string>() : "";
  src.fam = family_for_hf_class(hf_class);
  if (!src.fam)
    fail("[convert] {}/config.json: architecture '{}' is not supported (supported: {})", dir, hf_class, known_hf_classes());
  if (opt.use_side_file && fs::exists(src.dir / kSideFile))
    src.side = side_from_json(read_json_file((src.dir / kSideFile).string(), true), (src.dir / kSideFile).string());
  return src;
}

// general.architecture, the hyper-parameters and (unless the recorded one is exact) the vocabulary.
std::vector<gguf::KeyValue> derive_metadata(const Source& src, const HfOptions& opt) {
  const fs::path& d = src.dir;
  std::vector<gguf::KeyValue> derived;
  derived.push_back({"general.architecture", gguf::Value{std::string(src.fam->gguf_arch)}});
  std::vector<gguf::KeyValue> hp = hparams_to_gguf(*src.fam, src.cfg);
  derived.insert(derived.end(), hp.begin(), hp.end());
  // Tokenizer files unchanged since `slm export --hf` wrote them: the recorded vocabulary is exact.
  const std::vector<std::string> tok_files = {(d / "tokenizer.json").string(), (d / "tokenizer_config.json").string()};
  const bool side_vocab = src.side && !src.side->tokenizer_fingerprint.empty() &&
                          src.side->tokenizer_fingerprint == files_fingerprint(tok_files);
  if (side_vocab) return derived;
  if (!fs::exists(d / "tokenizer.json")) {
    if (!src.side) fail("[convert] {}: no tokenizer.json", d.string());
    return derived;
  }
  HfVocabInput vin{.tokenizer = read_json_file(tok_files[0], true),
                   .tokenizer_config = read_json_file(tok_files[1], false),
                   .config = special_id_source(src.cfg, read_json_file((d / "generation_config.json").string(), false)),
                   .pre = opt.pre,
                   .chat_template = opt.chat_template};
  std::vector<gguf::KeyValue> v = vocab_from_hf(vin);
  derived.insert(derived.end(), v.begin(), v.end());
  // llama.cpp's converter writes add_bos_token = false for llama models with a 49152-token vocabulary.
  if (src.fam->gguf_arch == "llama" && src.cfg.value("vocab_size", 0) == 49152) {
    auto it = std::find_if(derived.begin(), derived.end(), [](const auto& kv) { return kv.key == "tokenizer.ggml.add_bos_token"; });
    if (it != derived.end()) it->value = gguf::Value{false};
    else derived.push_back({"tokenizer.ggml.add_bos_token", gguf::Value{false}});
  }
  return derived;
}

// Tensors computed from config.json (rope_freqs, rope_factors_long/short), as F32 bytes.
using Generated = std::vector<std::pair<std::string, std::vector<uint8_t>>>;
Generated generated_bytes(const Source& src) {
  Generated g;
  for (auto& [name, v] : generated_tensors(*src.fam, src.cfg)) {
    std::vector<uint8_t> b(v.size() * 4);
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    g.emplace_back(name, std::move(b));
  }
  return g;
}

// Tensors in the side file's order (exact types), then generated ones, then the rest of the checkpoint.
// `extra`: gguf_extra.safetensors when present. Everything passed in must outlive out.writer.write().
void add_tensors(const Source& src, const HfOptions& opt, const safetensors::Checkpoint& ckpt,
                 const std::optional<safetensors::File>& extra, const Generated& generated, Output& out) {
  const Family& fam = *src.fam;
  auto source = [&](const safetensors::Checkpoint::Entry& e) {
    return TensorSource{ckpt.tensor_data(e), e.info->type, e.info->shape};
  };
  std::set<std::string> done;  // Hugging Face names converted, and generated names written
  for (const SideTensor& st : src.side ? src.side->tensors : std::vector<SideTensor>{}) {
    std::optional<DType> exact;
    if (!opt.type) exact = st.type;
    const auto gen = std::find_if(generated.begin(), generated.end(), [&](const auto& p) { return p.first == st.name; });
    if (const auto* e = extra ? extra->find(st.name) : nullptr) {  // stored verbatim by the exporter
      out.add_view(st.name, e->type, e->shape, extra->tensor_data(*e));
      if (!st.hf.empty()) done.insert(st.hf);
    } else if (gen != generated.end()) {
      out.add_view(st.name, DType::F32, {int64_t(gen->second.size() / 4)}, gen->second);
      done.insert(st.name);
    } else if (const auto* c = st.hf.empty() ? nullptr : ckpt.find(st.hf)) {
      convert_tensor(fam, src.cfg, st.hf, st.name, source(*c), exact, opt.type, out);
      done.insert(st.hf);
    } else {
      fail("[convert] {}: tensor '{}' listed in {} is in neither the checkpoint nor {}", src.dir.string(), st.name, kSideFile,
           kSideTensors);
    }
  }
  for (const auto& [name, bytes] : generated)  // generated tensors come first, as llama.cpp writes them
    if (!done.count(name)) out.add_view(name, DType::F32, {int64_t(bytes.size() / 4)}, bytes);
  const bool tied = src.cfg.value("tie_word_embeddings", fam.gguf_arch == "gemma2");
  for (const auto& e : ckpt.tensors()) {
    const std::string& hf = e.info->name;
    if (done.count(hf) || is_ignorable_hf_tensor(hf)) continue;
    if (hf == "lm_head.weight" && (fam.gguf_arch == "gemma2" || tied)) continue;  // tied to the embedding
    const std::optional<std::string> gname = gguf_tensor_name(fam, hf);
    if (!gname) fail("[convert] {}: tensor '{}' has no GGUF name for {}", src.dir.string(), hf, fam.hf_class);
    convert_tensor(fam, src.cfg, hf, *gname, source(e), std::nullopt, opt.type, out);
  }
}

// The metadata to write: the side file's (with derived values merged in) or the derived keys in
// llama.cpp's order (architecture, name, hyper-parameters, file type, tokenizer).
std::vector<gguf::KeyValue> final_metadata(const Source& src, const HfOptions& opt, const std::vector<gguf::KeyValue>& derived,
                                           std::optional<DType> main_type) {
  const bool plain = main_type && (*main_type == DType::F32 || *main_type == DType::F16 || *main_type == DType::BF16 ||
                                   *main_type == DType::Q8_0);
  std::vector<gguf::KeyValue> md;
  if (src.side) {
    std::vector<gguf::KeyValue> d2 = derived;
    if (plain) d2.push_back({"general.file_type", gguf::Value{file_type_of(*main_type)}});
    std::set<std::string> side_only = {"general.architecture"};
    if (!opt.type) side_only.insert("general.file_type");  // the recorded one stays unless a type was asked for
    return merge_metadata(src.side->metadata, d2, side_only);
  }
  md.push_back(derived[0]);
  md.push_back({"general.name", gguf::Value{default_name(src.cfg, src.dir.string())}});
  const auto tok_begin =
      std::find_if(derived.begin(), derived.end(), [](const auto& kv) { return kv.key.starts_with("tokenizer."); });
  md.insert(md.end(), derived.begin() + 1, tok_begin);
  if (plain) md.push_back({"general.file_type", gguf::Value{file_type_of(*main_type)}});
  md.insert(md.end(), tok_begin, derived.end());
  return md;
}

}  // namespace

ConvertSummary convert_hf(const std::string& dir, const std::string& out_path, const HfOptions& opt) {
  const Source src = open_source(dir, opt);
  const std::vector<gguf::KeyValue> derived = derive_metadata(src, opt);
  Output out;
  out.writer = gguf::Writer(src.side ? src.side->version : 3);
  if (src.side) out.writer.set_alignment(src.side->alignment);
  // The tensor sources stay mapped until the file is written.
  std::optional<safetensors::Checkpoint> ckpt;
  std::optional<safetensors::File> extra;
  const Generated generated = generated_bytes(src);
  if (!opt.vocab_only) {
    ckpt = safetensors::Checkpoint::open(dir);
    if (src.side && fs::exists(src.dir / kSideTensors)) extra = safetensors::File::open((src.dir / kSideTensors).string());
    add_tensors(src, opt, *ckpt, extra, generated, out);
  }
  // general.file_type: the requested type, else the most common matrix type (config's torch_dtype when
  // there are no tensors).
  std::optional<DType> main_type = opt.type;
  if (!main_type && !out.matrix_types.empty())
    main_type = std::max_element(out.matrix_types.begin(), out.matrix_types.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  if (!main_type && opt.vocab_only) {
    const std::string td = src.cfg.value("torch_dtype", "");
    main_type = td == "bfloat16" ? DType::BF16 : td == "float16" ? DType::F16 : DType::F32;
  }
  std::vector<gguf::KeyValue> md = final_metadata(src, opt, derived, main_type);
  const size_t n_md = md.size();
  for (gguf::KeyValue& kv : md) out.writer.add_kv(std::move(kv.key), std::move(kv.value));
  out.writer.write(out_path);
  return ConvertSummary{.arch = std::string(src.fam->gguf_arch), .n_tensors = out.n, .n_metadata = n_md,
                        .bytes = uint64_t(fs::file_size(out_path)), .from_side_file = src.side.has_value()};
}

}  // namespace slm::convert
