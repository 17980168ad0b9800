// Importance matrix collection (through the forward pass's matmul observer) and the imatrix.dat format.
#include "model/imatrix.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/gguf.h"
#include "model/observe.h"

namespace slm::model {

const std::vector<float>* Imatrix::find(const std::string& tensor) const {
  auto it = entries.find(tensor);
  return it == entries.end() ? nullptr : &it->second.values;
}

namespace {

void put_i32(std::vector<uint8_t>& out, int32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

class Reader {
 public:
  Reader(std::span<const uint8_t> b, const std::string& name) : b_(b), name_(name) {}
  bool at_end() const { return pos_ == b_.size(); }
  int32_t i32(const char* what) {
    int32_t v;
    std::memcpy(&v, take(4, what), 4);
    return v;
  }
  const uint8_t* take(size_t n, const char* what) {
    if (n > b_.size() - pos_) fail("[imatrix] {}: offset {}: {} ({} bytes) past end of file", name_, pos_, what, n);
    const uint8_t* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> b_;
  std::string name_;
  size_t pos_ = 0;
};

}  // namespace

void imatrix_write(const Imatrix& m, const std::string& path) {
  std::vector<uint8_t> out;
  put_i32(out, int32_t(m.entries.size()));
  for (const auto& [name, e] : m.entries) {
    put_i32(out, int32_t(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    put_i32(out, e.ncall);
    put_i32(out, int32_t(e.values.size()));
    for (float v : e.values) {
      const float stored = v * float(std::max(e.ncall, 1));
      const auto* p = reinterpret_cast<const uint8_t*>(&stored);
      out.insert(out.end(), p, p + 4);
    }
  }
  put_i32(out, m.chunks);
  put_i32(out, int32_t(m.dataset.size()));
  out.insert(out.end(), m.dataset.begin(), m.dataset.end());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail("[imatrix] cannot write {}", path);
  f.write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
  if (!f) fail("[imatrix] write failed: {}", path);
}

Imatrix imatrix_parse(std::span<const uint8_t> bytes, const std::string& name) {
  Reader r(bytes, name);
  Imatrix m;
  const int32_t n = r.i32("entry count");
  if (n < 0) fail("[imatrix] {}: negative entry count {}", name, n);
  for (int32_t i = 0; i < n; ++i) {
    const int32_t len = r.i32("name length");
    if (len <= 0 || len > 4096) fail("[imatrix] {}: entry {}: bad name length {}", name, i, len);
    const uint8_t* s = r.take(size_t(len), "name");
    std::string key(reinterpret_cast<const char*>(s), size_t(len));
    Imatrix::Entry e;
    e.ncall = r.i32("ncall");
    const int32_t nval = r.i32("value count");
    if (nval < 0) fail("[imatrix] {}: entry '{}': negative value count {}", name, key, nval);
    const uint8_t* v = r.take(size_t(nval) * 4, "values");
    e.values.resize(size_t(nval));
    std::memcpy(e.values.data(), v, size_t(nval) * 4);
    if (e.ncall > 0)
      for (float& x : e.values) x /= float(e.ncall);
    m.entries[key] = std::move(e);
  }
  if (!r.at_end()) {
    m.chunks = r.i32("chunk count");
    const int32_t len = r.i32("dataset name length");
    if (len < 0) fail("[imatrix] {}: negative dataset name length", name);
    const uint8_t* s = r.take(size_t(len), "dataset name");
    m.dataset.assign(reinterpret_cast<const char*>(s), size_t(len));
  }
  return m;
}

Imatrix imatrix_read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("[imatrix] cannot open {}", path);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) return imatrix_parse_gguf(bytes, path);
  return imatrix_parse(bytes, path);
}

namespace {

// Maps a weight view (a pointer into the model file) to the tensor holding it.
class TensorIndex {
 public:
  explicit TensorIndex(const gguf::File& f) {
    for (const gguf::TensorInfo& t : f.tensors()) {
      const auto d = f.tensor_data(t);
      by_start_[d.data()] = {t.name, d.size()};
    }
  }
  const std::string* find(const uint8_t* p) const {
    auto it = by_start_.upper_bound(p);
    if (it == by_start_.begin()) return nullptr;
    --it;
    return p < it->first + it->second.second ? &it->second.first : nullptr;
  }

 private:
  std::map<const uint8_t*, std::pair<std::string, size_t>> by_start_;
};

struct Accum {
  std::vector<double> sum;
  int64_t rows = 0;
  int32_t ncall = 0;
  int32_t last_chunk = -1;
};

}  // namespace

Imatrix imatrix_collect(const Model& model, std::span<const int32_t> tokens, const ImatrixOptions& opt,
                        const std::function<void(int, int)>& progress) {
  const gguf::File* f = model.gguf();
  if (f == nullptr) fail("[imatrix] the model must be a GGUF file (tensor names come from it)");
  if (opt.n_ctx < 2) fail("[imatrix] chunk size {} is too small", opt.n_ctx);
  const int n_ctx = std::min(opt.n_ctx, model.n_ctx());
  int total = int(tokens.size() / size_t(n_ctx));
  if (total == 0 && !tokens.empty()) total = 1;  // a short text is one (short) chunk
  if (opt.max_chunks > 0) total = std::min(total, opt.max_chunks);
  if (total == 0) fail("[imatrix] no calibration tokens");
  const TensorIndex index(*f);
  std::map<std::string, Accum> acc;
  int chunk = 0;
  const void* last_x = nullptr;
  const std::string* last_name = nullptr;
  auto observer = [&](const kernels::MatView& w, std::span<const float> x, int64_t n_rows) {
    const std::string* name = index.find(w.data);
    if (name == nullptr) return;
    if (name == last_name && x.data() == last_x) return;  // fused tensor: one input, several views
    last_name = name, last_x = x.data();
    Accum& a = acc[*name];
    const size_t cols = size_t(w.cols);
    if (a.sum.empty()) a.sum.assign(cols, 0.0);
    for (int64_t r = 0; r < n_rows; ++r)
      for (size_t j = 0; j < cols; ++j) {
        const double v = x[size_t(r) * cols + j];
        a.sum[j] += v * v;
      }
    a.rows += n_rows;
    if (a.last_chunk != chunk) a.last_chunk = chunk, ++a.ncall;
  };
  ScopedMatmulObserver scope(observer);
  for (; chunk < total; ++chunk) {
    const size_t b = size_t(chunk) * size_t(n_ctx);
    const size_t n = std::min(size_t(n_ctx), tokens.size() - b);
    KvCache kv = model.make_cache({.n_seq = 1, .n_ctx = n_ctx, .type = KvType::f32});
    last_name = nullptr, last_x = nullptr;
    model.prefill(tokens.subspan(b, n), kv, 0, false);
    if (progress) progress(chunk + 1, total);
  }
  Imatrix m;
  m.chunks = total;
  m.chunk_size = n_ctx;
  for (auto& [name, a] : acc) {
    Imatrix::Entry e;
    e.ncall = a.ncall;
    e.count = double(a.rows);
    e.values.resize(a.sum.size());
    for (size_t j = 0; j < a.sum.size(); ++j) e.values[j] = float(a.sum[j] / double(std::max<int64_t>(a.rows, 1)));
    m.entries[name] = std::move(e);
  }
  return m;
}

}  // namespace slm::model
