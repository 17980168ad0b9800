// The GGUF imatrix format (see imatrix.h): sums of squared activations and row counts as F32 tensors.
#include <cmath>
#include <cstring>
#include <deque>

#include "core/error.h"
#include "io/gguf.h"
#include "model/imatrix.h"

namespace slm::model {

namespace {

constexpr std::string_view kSums = ".in_sum2", kCounts = ".counts";
constexpr int32_t kAssumedChunkSize = 512;

std::vector<float> read_f32(const gguf::File& f, const gguf::TensorInfo& t, const std::string& name) {
  if (t.type != DType::F32) fail("[imatrix] {}: tensor '{}' is {}, expected F32", name, t.name, dtype_info(t.type).name);
  const auto bytes = f.tensor_data(t);
  std::vector<float> v(size_t(t.n_elements()));
  if (bytes.size() < v.size() * 4) fail("[imatrix] {}: tensor '{}' data is short", name, t.name);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

}  // namespace

Imatrix imatrix_parse_gguf(std::span<const uint8_t> bytes, const std::string& name) {
  const gguf::File f = gguf::File::parse(bytes, name);
  if (auto type = f.get_string("general.type"); type && *type != "imatrix")
    fail("[imatrix] {}: general.type is '{}', not 'imatrix'", name, *type);
  Imatrix m;
  if (auto n = f.get_uint("imatrix.chunk_count")) m.chunks = int32_t(std::min<uint64_t>(*n, INT32_MAX));
  if (auto n = f.get_uint("imatrix.chunk_size")) m.chunk_size = int32_t(std::min<uint64_t>(*n, INT32_MAX));
  if (const gguf::Array* ds = f.get_array("imatrix.datasets"))
    for (const gguf::Value& v : ds->items)
      if (const auto* s = std::get_if<std::string>(&v.data)) m.dataset += (m.dataset.empty() ? "" : ",") + *s;
  for (const gguf::TensorInfo& t : f.tensors()) {
    if (!t.name.ends_with(kSums)) {
      if (!t.name.ends_with(kCounts)) fail("[imatrix] {}: unexpected tensor '{}'", name, t.name);
      continue;
    }
    const std::string weight = t.name.substr(0, t.name.size() - kSums.size());
    const gguf::TensorInfo* c = f.find_tensor(weight + std::string(kCounts));
    if (c == nullptr) fail("[imatrix] {}: '{}' has no '{}{}' tensor", name, t.name, weight, kCounts);
    const int64_t n_mat = t.ne.size() > 1 ? t.ne[1] : 1;
    if (n_mat != 1 || c->n_elements() != 1)
      fail("[imatrix] {}: '{}' holds {} matrices (mixture-of-experts imatrix files are not supported)", name, weight,
           n_mat);
    const std::vector<float> sums = read_f32(f, t, name), counts = read_f32(f, *c, name);
    const double count = counts[0];
    if (!(count >= 0) || !std::isfinite(count)) fail("[imatrix] {}: '{}' has count {}", name, weight, count);
    Imatrix::Entry e;
    e.count = count;
    e.ncall = m.chunk_size > 0 ? int32_t(std::lround(count / m.chunk_size)) : 0;
    e.values.resize(sums.size());
    for (size_t j = 0; j < sums.size(); ++j) e.values[j] = count > 0 ? float(double(sums[j]) / count) : 0.0f;
    m.entries[weight] = std::move(e);
  }
  return m;
}

void imatrix_write_gguf(const Imatrix& m, const std::string& path) {
  gguf::Writer w;
  w.add_kv("general.type", {std::string("imatrix")});
  gguf::Array ds{.elem_type = gguf::ValueType::string, .items = {}};
  if (!m.dataset.empty()) ds.items.push_back({m.dataset});
  w.add_kv("imatrix.datasets", {ds});
  w.add_kv("imatrix.chunk_count", {uint32_t(std::max(m.chunks, 0))});
  w.add_kv("imatrix.chunk_size", {uint32_t(m.chunk_size > 0 ? m.chunk_size : kAssumedChunkSize)});
  std::deque<std::vector<float>> data;  // stable addresses until write()
  auto as_bytes = [](const std::vector<float>& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4);
  };
  for (const auto& [name, e] : m.entries) {
    const double count = e.count > 0 ? e.count
                                     : double(std::max(e.ncall, 1)) * (m.chunk_size > 0 ? m.chunk_size : kAssumedChunkSize);
    std::vector<float>& sums = data.emplace_back(e.values.size());
    for (size_t j = 0; j < sums.size(); ++j) sums[j] = float(double(e.values[j]) * count);
    const std::vector<float>& counts = data.emplace_back(1, float(count));
    w.add_tensor(name + std::string(kSums), DType::F32, {int64_t(sums.size()), 1}, as_bytes(sums));
    w.add_tensor(name + std::string(kCounts), DType::F32, {1, 1}, as_bytes(counts));
  }
  w.write(path);
}

}  // namespace slm::model
