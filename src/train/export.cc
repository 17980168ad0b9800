// PEFT and GGUF adapter writers, and the full-model GGUF writer.
#include "train/export.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "quant/quant.h"

namespace slm::train {
namespace {

std::span<const uint8_t> bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f) fail("[train] cannot write '{}'", tmp);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

std::vector<float> unpermute_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int n_heads) {
  // GGUF row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i.
  const int64_t hd = rows / n_heads, half = hd / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t src = h * hd + 2 * i + j, dst = h * hd + j * half + i;
        std::copy_n(w.begin() + src * cols, cols, out.begin() + dst * cols);
      }
  return out;
}

void write_peft_adapter(const Net<float>& net, const std::string& dir, const std::string& base_model) {
  const LoraConfig& lc = net.lora_config();
  if (lc.rank <= 0) fail("[train] the network has no LoRA adapters to write");
  std::filesystem::create_directories(dir);
  const model::ModelConfig& c = net.config();
  const bool permuted = c.rope_style == model::RopeStyle::normal && c.arch == "llama";
  std::vector<std::vector<float>> keep;  // unpermuted copies, alive until write()
  keep.reserve(net.layers.size() * 2);
  safetensors::Writer w;
  nlohmann::ordered_json targets = nlohmann::ordered_json::array();
  for (int t = 0; t < kNumTargets; ++t)
    if (lc.targets[size_t(t)]) targets.push_back(target_peft_name(t));
  for (size_t l = 0; l < net.layers.size(); ++l)
    for (int t = 0; t < kNumTargets; ++t) {
      const Lora<float>& a = net.layers[l].lora[size_t(t)];
      if (a.a.empty()) continue;
      const std::string p = fmt::format("base_model.model.model.layers.{}.{}.{}", l, t <= kO ? "self_attn" : "mlp",
                                        target_peft_name(t));
      w.add_tensor(p + ".lora_A.weight", DType::F32, {a.a.rows, a.a.cols}, bytes(a.a.w));
      const std::vector<float>* b = &a.b.w;
      if (permuted && (t == kQ || t == kK)) {
        keep.push_back(unpermute_rows(a.b.w, a.b.rows, a.b.cols, t == kQ ? c.n_head : c.n_head_kv));
        b = &keep.back();
      }
      w.add_tensor(p + ".lora_B.weight", DType::F32, {a.b.rows, a.b.cols}, bytes(*b));
    }
  w.set_metadata("format", "pt");
  w.write(dir + "/adapter_model.safetensors");
  nlohmann::ordered_json cfg = {
      {"alpha_pattern", nlohmann::ordered_json::object()},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path", base_model},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"lora_alpha", lc.alpha},
      {"lora_dropout", lc.dropout},
      {"modules_to_save", nullptr},
      {"peft_type", "LORA"},
      {"r", lc.rank},
      {"rank_pattern", nlohmann::ordered_json::object()},
      {"revision", nullptr},
      {"target_modules", targets},
      {"task_type", "CAUSAL_LM"},
      {"use_dora", false},
      {"use_rslora", false},
  };
  write_text_atomic(dir + "/adapter_config.json", cfg.dump(2) + "\n");
}

void write_gguf_adapter(const Net<float>& net, const std::string& path) {
  const LoraConfig& lc = net.lora_config();
  if (lc.rank <= 0) fail("[train] the network has no LoRA adapters to write");
  gguf::Writer w;
  w.add_kv("general.architecture", {std::string(net.config().arch)});
  w.add_kv("general.type", {std::string("adapter")});
  w.add_kv("adapter.type", {std::string("lora")});
  w.add_kv("adapter.lora.alpha", {float(lc.alpha)});
  for (const Layer<float>& L : net.layers)
    for (const Lora<float>& a : L.lora) {
      if (a.a.empty()) continue;
      w.add_tensor(a.a.name, DType::F32, {a.a.cols, a.a.rows}, bytes(a.a.w));
      w.add_tensor(a.b.name, DType::F32, {a.b.cols, a.b.rows}, bytes(a.b.w));
    }
  w.write(path);
}

void merge_gguf_adapter(Net<float>& net, const std::string& path, float scale) {
  const gguf::File f = gguf::File::open(path);
  if (f.get_string("general.type").value_or("") != "adapter" || f.get_string("adapter.type").value_or("") != "lora")
    fail("[merge] {}: not a LoRA adapter", path);
  const double alpha = f.get_float("adapter.lora.alpha").value_or(0.0);
  auto read = [&](const gguf::TensorInfo& t) {
    std::vector<float> v(size_t(t.n_elements()));
    if (!quant::can_dequantize(t.type)) fail("[merge] {}: '{}' has an unreadable type", path, t.name);
    quant::dequantize(t.type, f.tensor_data(t).data(), v.data(), t.n_elements());
    return v;
  };
  int merged = 0;
  for (Layer<float>& L : net.layers)
    for (Tensor<float>& w : L.w) {
      const gguf::TensorInfo* ta = f.find_tensor(w.name + ".lora_a");
      const gguf::TensorInfo* tb = f.find_tensor(w.name + ".lora_b");
      if (!ta && !tb) continue;
      SLM_CHECK(!w.quantised(), "{}: merging into a quantised base", w.name);
      if (!ta || !tb || ta->ne.size() != 2 || tb->ne.size() != 2 || ta->ne[0] != w.cols || tb->ne[1] != w.rows ||
          tb->ne[0] != ta->ne[1])
        fail("[merge] {}: '{}' adapter shapes do not match the {} x {} weight", path, w.name, w.rows, w.cols);
      const int64_t r = ta->ne[1];
      const std::vector<float> a = read(*ta), b = read(*tb);  // a: (r, in), b: (out, r)
      const float s = float(alpha != 0 ? scale * alpha / double(r) : scale);
      for (int64_t o = 0; o < w.rows; ++o)
        for (int64_t k = 0; k < r; ++k) {
          const float c = s * b[size_t(o * r + k)];
          for (int64_t i = 0; i < w.cols; ++i) w.w[size_t(o * w.cols + i)] += c * a[size_t(k * w.cols + i)];
        }
      ++merged;
    }
  if (merged == 0) fail("[merge] {}: no adapter tensors match the model", path);
}

void write_gguf_model(const Net<float>& net, const gguf::File* base, const std::string& path) {
  gguf::Writer w;
  const model::ModelConfig& c = net.config();
  if (base) {
    for (const gguf::KeyValue& kv : base->metadata())
      if (kv.key != "general.file_type" && kv.key != "general.alignment") w.add_kv(kv.key, kv.value);
  } else {
    w.add_kv("general.architecture", {c.arch});
  }
  w.set_kv("general.file_type", {uint32_t(0)});  // all F32
  auto& self = const_cast<Net<float>&>(net);
  for (Tensor<float>* t : self.tensors()) {
    if (t->name.ends_with(".lora_a") || t->name.ends_with(".lora_b")) continue;
    std::vector<int64_t> ne = t->rows == 1 ? std::vector<int64_t>{t->cols} : std::vector<int64_t>{t->cols, t->rows};
    w.add_tensor(t->name, DType::F32, ne, bytes(t->w));
  }
  if (!net.rope_freqs.empty())
    w.add_tensor("rope_freqs.weight", DType::F32, {int64_t(net.rope_freqs.size())}, bytes(net.rope_freqs));
  w.write(path);
}

}  // namespace slm::train
