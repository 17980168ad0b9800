// GGUF writing: header encoding, data layout, the byte-exact round trip of read files, atomic writes.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "io/gguf.h"

namespace slm::gguf {
namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr std::string_view kAlignmentKey = "general.alignment";

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

class Encoder {
 public:
  explicit Encoder(std::vector<uint8_t>& out) : out_(out) {}

  template <typename T>
  void put(T v) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void put_value(const Value& v, std::string_view key) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            put_string(x);
          } else if constexpr (std::is_same_v<T, Array>) {
            put<uint32_t>(uint32_t(x.elem_type));
            put<uint64_t>(x.items.size());
            for (size_t i = 0; i < x.items.size(); ++i) {
              if (x.items[i].type() != x.elem_type)
                fail("[gguf] key '{}': array of {} holds a {} at index {}", key, value_type_name(x.elem_type),
                     value_type_name(x.items[i].type()), i);
              put_value(x.items[i], key);
            }
          } else if constexpr (std::is_same_v<T, bool>) {
            put<uint8_t>(x ? 1 : 0);
          } else {
            put<T>(x);
          }
        },
        v.data);
  }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace

void Writer::set_alignment(uint64_t a) {
  if (a == 0 || (a & (a - 1)) != 0 || a > UINT32_MAX)
    fail("[gguf] alignment {} is not a non-zero power of two below 2^32", a);
  alignment_ = a;
  for (KeyValue& kv : kv_)
    if (kv.key == kAlignmentKey) kv.value = Value{uint32_t(a)};
}

void Writer::add_kv(std::string key, Value v) {
  // A valid general.alignment also sets the layout; an invalid one is written as given.
  if (key == kAlignmentKey)
    if (auto* a = std::get_if<uint32_t>(&v.data); a && *a != 0 && (*a & (*a - 1)) == 0) alignment_ = *a;
  kv_.push_back(KeyValue{std::move(key), std::move(v)});
}

void Writer::set_kv(std::string key, Value v) {
  for (KeyValue& kv : kv_) {
    if (kv.key == key) {
      if (key == kAlignmentKey)
        if (auto* a = std::get_if<uint32_t>(&v.data); a && *a != 0 && (*a & (*a - 1)) == 0) alignment_ = *a;
      kv.value = std::move(v);
      return;
    }
  }
  add_kv(std::move(key), std::move(v));
}

void Writer::add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::span<const uint8_t> data,
                        std::optional<uint64_t> offset) {
  PendingTensor t;
  t.info.name = std::move(name);
  t.info.type = type;
  t.info.ne = std::move(ne);
  t.info.offset = offset.value_or(0);
  t.info.n_bytes = data.size();
  t.data = data;
  t.explicit_offset = offset.has_value();
  tensors_.push_back(std::move(t));
}

// Offsets (relative to the data section) of every tensor; *data_size: the aligned end of the data.
std::vector<uint64_t> Writer::layout(uint64_t* data_size) const {
  std::vector<uint64_t> offsets;
  offsets.reserve(tensors_.size());
  uint64_t end = 0;
  for (const PendingTensor& t : tensors_) {
    const uint64_t off = t.explicit_offset ? t.info.offset : align_up(end, alignment_);
    offsets.push_back(off);
    end = std::max(end, off + t.info.n_bytes);
  }
  *data_size = tensors_.empty() ? 0 : align_up(end, alignment_);
  return offsets;
}

std::vector<uint8_t> Writer::header_bytes(const std::vector<uint64_t>& offsets) const {
  const bool add_alignment_kv =
      alignment_ != kDefaultAlignment &&
      std::none_of(kv_.begin(), kv_.end(), [](const KeyValue& kv) { return kv.key == kAlignmentKey; });
  std::vector<uint8_t> out;
  Encoder e(out);
  e.put<uint32_t>(0x46554747u);  // "GGUF"
  e.put<uint32_t>(version_);
  e.put<uint64_t>(tensors_.size());
  e.put<uint64_t>(kv_.size() + (add_alignment_kv ? 1 : 0));
  for (const KeyValue& kv : kv_) {
    e.put_string(kv.key);
    e.put<uint32_t>(uint32_t(kv.value.type()));
    e.put_value(kv.value, kv.key);
  }
  if (add_alignment_kv) {
    e.put_string(kAlignmentKey);
    e.put<uint32_t>(uint32_t(ValueType::u32));
    e.put<uint32_t>(uint32_t(alignment_));
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorInfo& t = tensors_[i].info;
    e.put_string(t.name);
    e.put<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) e.put<uint64_t>(uint64_t(d));
    e.put<uint32_t>(uint32_t(t.type));
    e.put<uint64_t>(offsets[i]);
  }
  return out;
}

// Streams the file to sink(span) in order.
template <typename Sink>
void Writer::emit(Sink&& sink) const {
  static constexpr uint8_t kZeros[4096] = {};
  auto zeros = [&](uint64_t n) {
    for (; n > 0; n -= std::min<uint64_t>(n, sizeof(kZeros)))
      sink(std::span<const uint8_t>(kZeros, size_t(std::min<uint64_t>(n, sizeof(kZeros)))));
  };
  uint64_t data_size = 0;
  const std::vector<uint64_t> offsets = layout(&data_size);
  const std::vector<uint8_t> header = header_bytes(offsets);
  sink(std::span<const uint8_t>(header));

  // Unchanged layout of a read file: its bytes after the header, as they were (tensor data that was
  // replaced since is patched in).
  if (has_source_ && header.size() == source_header_size_ && tensors_.size() == source_tensor_count_) {
    const uint64_t data_start = align_up(header.size(), alignment_) - header.size();
    std::vector<uint8_t> patched;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const uint64_t at = data_start + offsets[i];
      const std::span<const uint8_t> d = tensors_[i].data;
      if (at + d.size() <= source_tail_.size() && d.data() == source_tail_.data() + at) continue;
      if (patched.empty()) patched.assign(source_tail_.begin(), source_tail_.end());
      if (patched.size() < at + d.size()) patched.resize(at + d.size());
      std::memcpy(patched.data() + at, d.data(), d.size());
    }
    sink(patched.empty() ? source_tail_ : std::span<const uint8_t>(patched));
    return;
  }

  if (tensors_.empty()) return;
  zeros(align_up(header.size(), alignment_) - header.size());
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return offsets[a] < offsets[b]; });
  uint64_t pos = 0;
  for (size_t i : order) {
    const std::span<const uint8_t> d = tensors_[i].data;
    if (offsets[i] > pos) zeros(offsets[i] - pos), pos = offsets[i];
    const uint64_t skip = pos - offsets[i];  // overlapping tensors (only in deliberately bad files)
    if (skip < d.size()) {
      sink(d.subspan(size_t(skip)));
      pos = offsets[i] + d.size();
    }
  }
  zeros(data_size - pos);
}

std::vector<uint8_t> Writer::to_bytes() const {
  std::vector<uint8_t> out;
  emit([&](std::span<const uint8_t> s) { out.insert(out.end(), s.begin(), s.end()); });
  return out;
}

void Writer::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("[gguf] {}: cannot create: {}", tmp, std::strerror(errno));
  bool ok = true;
  try {
    emit([&](std::span<const uint8_t> s) {
      if (ok && std::fwrite(s.data(), 1, s.size(), f) != s.size()) ok = false;
    });
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail("[gguf] {}: write failed: {}", tmp, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rerr = errno;
    std::remove(tmp.c_str());
    fail("[gguf] {}: cannot rename {} into place: {}", path, tmp, std::strerror(rerr));
  }
}

Writer Writer::from(const File& f) {
  Writer w(f.version());
  w.alignment_ = f.alignment();
  w.kv_ = f.metadata();
  w.tensors_.reserve(f.tensors().size());
  for (const TensorInfo& t : f.tensors())
    w.tensors_.push_back(PendingTensor{.info = t, .data = f.tensor_data(t), .explicit_offset = true});
  w.has_source_ = true;
  w.source_tail_ = f.bytes().subspan(size_t(f.header_size()));
  w.source_header_size_ = f.header_size();
  w.source_tensor_count_ = f.tensors().size();
  return w;
}

}  // namespace slm::gguf
