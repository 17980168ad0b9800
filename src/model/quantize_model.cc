// quantize_model: per-tensor types from the mix, dequantise the source when needed, quantise in parallel,
// write a standard GGUF with the source's metadata.
#include "model/quantize_model.h"

#include <algorithm>

#include "core/error.h"
#include "io/gguf.h"
#include "model/imatrix.h"
#include "quant/mix.h"
#include "quant/quant.h"

namespace slm::model {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION

int64_t meta_or(const gguf::File& f, const std::string& key, int64_t def) {
  if (const gguf::Value* v = f.find(key); v != nullptr && v->type() != gguf::ValueType::array) {
    if (auto u = f.get_int(key)) return *u;
  }
  return def;
}

quant::MixModel mix_model(const gguf::File& f, bool has_imatrix) {
  quant::MixModel m;
  m.arch = f.get_string("general.architecture").value_or("llama");
  m.n_layer = int(meta_or(f, m.arch + ".block_count", 0));
  m.n_head = int(meta_or(f, m.arch + ".attention.head_count", 0));
  m.n_head_kv = int(meta_or(f, m.arch + ".attention.head_count_kv", m.n_head));
  m.n_expert = int(meta_or(f, m.arch + ".expert_count", 0));
  m.has_imatrix = has_imatrix;
  return m;
}

// The source tensor as floats (a copy; the source may be any type quant can decode).
std::vector<float> to_f32(const gguf::File& f, const gguf::TensorInfo& t) {
  if (!quant::can_dequantize(t.type))
    fail("[quantize] tensor '{}': cannot read source type {}", t.name, quant::type_name(t.type));
  const auto bytes = f.tensor_data(t);
  std::vector<float> out(size_t(t.n_elements()));
  quant::dequantize(t.type, bytes.data(), out.data(), t.n_elements());
  return out;
}

}  // namespace

QuantizeReport quantize_model(const gguf::File& in, const std::string& out_path, const QuantizeOptions& opt) {
  const auto ft = quant::file_type_from_name(opt.file_type);
  if (!ft) fail("[quantize] unknown file type '{}'", opt.file_type);
  std::vector<quant::MixTensor> mt;
  for (const gguf::TensorInfo& t : in.tensors()) mt.push_back({t.name, t.ne, t.type});
  const quant::MixModel mm = mix_model(in, opt.imatrix != nullptr);
  std::vector<DType> wanted;
  const std::vector<DType> types = quant::choose_types(*ft, mt, mm, opt.pure, &wanted);

  QuantizeReport rep;
  rep.file_type = ft->id;
  gguf::Writer w(in.version());
  w.set_alignment(in.alignment());
  for (const gguf::KeyValue& kv : in.metadata()) w.add_kv(kv.key, kv.value);
  w.set_kv("general.quantization_version", {uint32_t{kQuantizationVersion}});
  w.set_kv("general.file_type", {uint32_t{ft->id}});
  if (opt.imatrix != nullptr) {
    w.set_kv("quantize.imatrix.file", {opt.imatrix_file});
    w.set_kv("quantize.imatrix.dataset", {opt.imatrix->dataset});
    w.set_kv("quantize.imatrix.entries_count", {int32_t(opt.imatrix->entries.size())});
    w.set_kv("quantize.imatrix.chunks_count", {int32_t(opt.imatrix->chunks)});
  }
  std::vector<std::vector<uint8_t>> buffers(in.tensors().size());
  for (size_t i = 0; i < in.tensors().size(); ++i) {
    const gguf::TensorInfo& t = in.tensors()[i];
    const DType to = types[i];
    if (opt.progress) opt.progress(i, in.tensors().size(), t.name, to);
    QuantizedTensor q{.name = t.name, .from = t.type, .to = to, .bytes_in = t.n_bytes};
    q.fallback = to != wanted[i];
    std::span<const uint8_t> data = in.tensor_data(t);
    if (to != t.type) {
      const int64_t n_per_row = t.ne[0], n_rows = t.n_elements() / std::max<int64_t>(n_per_row, 1);
      const std::vector<float>* im = opt.imatrix != nullptr ? opt.imatrix->find(t.name) : nullptr;
      if (im != nullptr && int64_t(im->size()) != n_per_row)
        fail("[quantize] imatrix entry '{}' has {} values, the tensor's rows have {}", t.name, im->size(), n_per_row);
      q.used_imatrix = im != nullptr;
      const std::vector<float> src = to_f32(in, t);
      buffers[i].resize(row_bytes(to, n_per_row) * size_t(n_rows));
      quant::quantize_parallel(to, src.data(), buffers[i].data(), n_rows, n_per_row,
                               im != nullptr ? im->data() : nullptr, opt.n_threads);
      data = buffers[i];
    }
    q.bytes_out = data.size();
    w.add_tensor(t.name, to, t.ne, data);
    rep.bytes_in += q.bytes_in;
    rep.bytes_out += q.bytes_out;
    rep.n_fallback += q.fallback ? 1 : 0;
    rep.tensors.push_back(q);
  }
  w.write(out_path);
  return rep;
}

}  // namespace slm::model
