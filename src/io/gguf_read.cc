// GGUF parsing and validation: every read is bounds-checked, every malformed input throws slm::Error
// naming the problem and where it is (byte offset, key or tensor name).
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "io/gguf.h"

namespace slm::gguf {
namespace {

constexpr int kMaxArrayDepth = 8;  // an array nested in 8 arrays is the deepest accepted
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;           // empty key, type, one-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one dim, type, offset

// Smallest encoding of one value of type t (for rejecting absurd array lengths before allocating).
uint64_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    case ValueType::string: return 8;
    case ValueType::array: return 4 + 8;
  }
  return 1;
}

bool is_valid_value_type(uint32_t id) { return id <= uint32_t(ValueType::f64); }

// A bounds-checked little-endian cursor over the file bytes.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> b, const std::string& name) : b_(b), name_(name) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return b_.size() - pos_; }
  uint64_t size() const { return b_.size(); }

  template <typename... Args>
  [[noreturn]] void fail_at(uint64_t off, fmt::format_string<Args...> f, Args&&... args) const {
    fail("[gguf] {}: offset {}: {}", name_, off, fmt::format(f, std::forward<Args>(args)...));
  }

  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      fail_at(pos_, "truncated file: {} needs {} bytes, only {} left", what, n, remaining());
  }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string_view read_string(const char* what) {
    const uint64_t at = pos_;
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining())
      fail_at(at, "{} length {} past end of file ({} bytes left)", what, n, remaining());
    std::string_view s(reinterpret_cast<const char*>(b_.data() + pos_), size_t(n));
    pos_ += n;
    return s;
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& name_;
  uint64_t pos_ = 0;
};

// Values ---------------------------------------------------------------------------------------

Value read_value(Cursor& c, ValueType t, int depth, std::string_view key);

template <typename T>
Value read_scalar(Cursor& c) {
  return Value{c.read<T>("value")};
}

Value read_array(Cursor& c, int depth, std::string_view key) {
  const uint64_t at = c.pos();
  const uint32_t et = c.read<uint32_t>("array type");
  if (!is_valid_value_type(et)) c.fail_at(at, "key '{}': unknown array element type id {}", key, et);
  const uint64_t n = c.read<uint64_t>("array length");
  const ValueType elem = ValueType(et);
  if (n > c.remaining() / min_value_bytes(elem))
    c.fail_at(at, "key '{}': array length {} past end of file ({} bytes left)", key, n, c.remaining());
  if (elem == ValueType::array && depth + 1 > kMaxArrayDepth)
    c.fail_at(at, "key '{}': arrays nested too deep (more than {} levels)", key, kMaxArrayDepth);
  Array a;
  a.elem_type = elem;
  a.items.reserve(size_t(n));
  for (uint64_t i = 0; i < n; ++i) a.items.push_back(read_value(c, elem, depth + 1, key));
  return Value{std::move(a)};
}

Value read_value(Cursor& c, ValueType t, int depth, std::string_view key) {
  switch (t) {
    case ValueType::u8: return read_scalar<uint8_t>(c);
    case ValueType::i8: return read_scalar<int8_t>(c);
    case ValueType::u16: return read_scalar<uint16_t>(c);
    case ValueType::i16: return read_scalar<int16_t>(c);
    case ValueType::u32: return read_scalar<uint32_t>(c);
    case ValueType::i32: return read_scalar<int32_t>(c);
    case ValueType::f32: return read_scalar<float>(c);
    case ValueType::u64: return read_scalar<uint64_t>(c);
    case ValueType::i64: return read_scalar<int64_t>(c);
    case ValueType::f64: return read_scalar<double>(c);
    case ValueType::boolean: {
      const uint64_t at = c.pos();
      const uint8_t b = c.read<uint8_t>("bool");
      if (b > 1) c.fail_at(at, "key '{}': bool byte is {}, expected 0 or 1", key, b);
      return Value{b == 1};
    }
    case ValueType::string: return Value{std::string(c.read_string("string"))};
    case ValueType::array: return read_array(c, depth, key);
  }
  c.fail_at(c.pos(), "key '{}': unknown value type id {}", key, uint32_t(t));
}

// Header ---------------------------------------------------------------------------------------

void check_magic_and_version(Cursor& c, uint32_t* version) {
  if (c.size() < 8) c.fail_at(0, "truncated header: file is {} bytes, a GGUF header needs at least 24", c.size());
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != 0x46554747u) {  // "GGUF" as bytes
    char m[4];
    std::memcpy(m, &magic, 4);
    std::string shown;
    for (char ch : m) shown += (ch >= 32 && ch < 127) ? ch : '?';
    c.fail_at(0, "bad magic '{}' (0x{:08x}): not a GGUF file", shown, magic);
  }
  const uint32_t v = c.read<uint32_t>("version");
  if (v == 1) c.fail_at(4, "GGUF version 1 is not supported (only v2 and v3): re-convert the file");
  const uint32_t swapped = __builtin_bswap32(v);
  if (v != 2 && v != 3 && swapped >= 1 && swapped <= 3)
    c.fail_at(4, "big-endian GGUF (version {} byte-swapped) is not supported", swapped);
  if (v != 2 && v != 3) c.fail_at(4, "unsupported GGUF version {} (only v2 and v3)", v);
  *version = v;
}

uint64_t checked_alignment(const Value& v, const std::string& name) {
  if (v.type() != ValueType::u32)
    fail("[gguf] {}: key 'general.alignment': expected u32, got {}", name, value_type_name(v.type()));
  const uint32_t a = std::get<uint32_t>(v.data);
  if (a == 0 || !std::has_single_bit(a))
    fail("[gguf] {}: key 'general.alignment': {} is not a non-zero power of two", name, a);
  return a;
}

TensorInfo read_tensor_info(Cursor& c, const std::string& name) {
  const uint64_t at = c.pos();
  TensorInfo t;
  t.name = std::string(c.read_string("tensor name"));
  const uint32_t n_dims = c.read<uint32_t>("tensor n_dims");
  if (n_dims == 0 || n_dims > kMaxDims)
    c.fail_at(at, "tensor '{}': {} dims, expected 1 to {}", t.name, n_dims, kMaxDims);
  t.ne.resize(n_dims);
  int64_t n_el = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t ne = c.read<uint64_t>("tensor dim");
    if (ne == 0) c.fail_at(at, "tensor '{}': dimension {} is zero", t.name, d);
    if (ne > uint64_t(INT64_MAX)) c.fail_at(at, "tensor '{}': dimension {} is negative ({})", t.name, d, int64_t(ne));
    t.ne[d] = int64_t(ne);
    if (__builtin_mul_overflow(n_el, t.ne[d], &n_el))
      c.fail_at(at, "tensor '{}': element count overflows (dims product too large)", t.name);
  }
  const uint32_t type_id = c.read<uint32_t>("tensor type");
  const std::optional<DTypeInfo> info = dtype_info(type_id);
  if (!info) c.fail_at(at, "tensor '{}': unknown type id {}", t.name, type_id);
  t.type = info->type;
  if (t.ne[0] % info->block_size != 0)
    c.fail_at(at, "tensor '{}': row length {} is not a multiple of the {} block size {}", t.name, t.ne[0],
              info->name, info->block_size);
  if (__builtin_mul_overflow(uint64_t(n_el / info->block_size), uint64_t(info->block_bytes), &t.n_bytes))
    c.fail_at(at, "tensor '{}': byte size overflows", t.name);
  t.offset = c.read<uint64_t>("tensor offset");
  return t;
}

// Each tensor's data must be aligned, inside the file and disjoint from every other tensor's.
void check_tensor_data(const std::vector<TensorInfo>& tensors, uint64_t alignment, uint64_t data_offset,
                       uint64_t avail, const std::string& name) {
  for (const TensorInfo& t : tensors) {
    if (t.offset % alignment != 0)
      fail("[gguf] {}: tensor '{}': data offset {} is misaligned (alignment {})", name, t.name, t.offset, alignment);
    if (t.offset > avail || t.n_bytes > avail - t.offset)
      fail("[gguf] {}: tensor '{}': data at offset {} + {} bytes runs past the end of the file "
           "(data section is {} bytes at offset {})",
           name, t.name, t.offset, t.n_bytes, avail, data_offset);
  }
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo& prev = tensors[order[i - 1]];
    const TensorInfo& cur = tensors[order[i]];
    if (cur.offset < prev.offset + prev.n_bytes)
      fail("[gguf] {}: tensor '{}' data at offset {} overlaps tensor '{}' (offset {}, {} bytes)", name, cur.name,
           cur.offset, prev.name, prev.offset, prev.n_bytes);
  }
}

}  // namespace

const char* value_type_name(ValueType t) {
  static constexpr const char* kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                           "bool", "string", "array", "u64", "i64", "f64"};
  const uint32_t i = uint32_t(t);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

File File::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  File f = parse(map->bytes(), path);
  f.map_ = std::move(map);
  return f;
}

File File::parse(std::span<const uint8_t> bytes, const std::string& name) {
  File f;
  f.bytes_ = bytes;
  f.name_ = name;
  Cursor c(bytes, f.name_);
  check_magic_and_version(c, &f.version_);
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  if (n_kv > c.remaining() / kMinKvBytes)
    c.fail_at(16, "metadata count {} is absurd: the {} bytes left hold at most {} (truncated file?)", n_kv,
              c.remaining(), c.remaining() / kMinKvBytes);
  if (n_tensors > c.remaining() / kMinTensorInfoBytes)
    c.fail_at(8, "tensor count {} is absurd: the {} bytes left hold at most {} (truncated file?)", n_tensors,
              c.remaining(), c.remaining() / kMinTensorInfoBytes);

  f.kv_.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = c.pos();
    std::string key(c.read_string("key"));
    const uint64_t type_at = c.pos();
    const uint32_t type = c.read<uint32_t>("value type");
    if (!is_valid_value_type(type)) c.fail_at(type_at, "key '{}': unknown value type id {}", key, type);
    if (f.kv_index_.count(key)) c.fail_at(at, "duplicate key '{}'", key);
    Value v = read_value(c, ValueType(type), 0, key);
    f.kv_index_.emplace(key, f.kv_.size());
    f.kv_.push_back(KeyValue{std::move(key), std::move(v)});
  }
  if (n_tensors > c.remaining() / kMinTensorInfoBytes)
    c.fail_at(8, "tensor count {} is absurd: the {} bytes after the metadata hold at most {} (truncated file?)",
              n_tensors, c.remaining(), c.remaining() / kMinTensorInfoBytes);
  if (const Value* a = f.find("general.alignment")) f.alignment_ = checked_alignment(*a, f.name_);

  f.tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = c.pos();
    TensorInfo t = read_tensor_info(c, f.name_);
    if (f.tensor_index_.count(t.name)) c.fail_at(at, "duplicate tensor name '{}'", t.name);
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }
  f.header_size_ = c.pos();
  f.data_offset_ = (f.header_size_ + f.alignment_ - 1) / f.alignment_ * f.alignment_;  // no overflow: a <= 2^31
  if (f.tensors_.empty()) return f;

  if (f.data_offset_ > c.size())
    c.fail_at(f.header_size_, "truncated file: data section starts at offset {}, past the end ({} bytes)",
              f.data_offset_, c.size());
  check_tensor_data(f.tensors_, f.alignment_, f.data_offset_, c.size() - f.data_offset_, name);
  return f;
}

// Lookups and typed getters --------------------------------------------------------------------

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> File::tensor_data(const TensorInfo& t) const {
  SLM_CHECK(data_offset_ + t.offset + t.n_bytes <= bytes_.size(), "tensor '{}' is not from this file", t.name);
  return bytes_.subspan(size_t(data_offset_ + t.offset), size_t(t.n_bytes));
}

namespace {
[[noreturn]] void type_mismatch(const std::string& file, std::string_view key, const char* want, ValueType got) {
  fail("[gguf] {}: key '{}': expected {}, got {}", file, key, want, value_type_name(got));
}
}  // namespace

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* s = std::get_if<std::string>(&v->data)) return *s;
  type_mismatch(name_, key, "string", v->type());
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  return std::visit(
      [&](const auto& x) -> int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, uint64_t>) {
          if (x > uint64_t(INT64_MAX)) fail("[gguf] {}: key '{}': {} does not fit in i64", name_, key, x);
          return int64_t(x);
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return int64_t(x);
        } else {
          type_mismatch(name_, key, "an integer", v->type());
        }
      },
      v->data);
}

std::optional<uint64_t> File::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  return std::visit(
      [&](const auto& x) -> uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          if constexpr (std::is_signed_v<T>)
            if (x < 0) fail("[gguf] {}: key '{}': expected an unsigned integer, got {}", name_, key, x);
          return uint64_t(x);
        } else {
          type_mismatch(name_, key, "an unsigned integer", v->type());
        }
      },
      v->data);
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* f = std::get_if<float>(&v->data)) return *f;
  if (auto* d = std::get_if<double>(&v->data)) return *d;
  type_mismatch(name_, key, "f32 or f64", v->type());
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* b = std::get_if<bool>(&v->data)) return *b;
  type_mismatch(name_, key, "bool", v->type());
}

const Array* File::get_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  if (auto* a = std::get_if<Array>(&v->data)) return a;
  type_mismatch(name_, key, "array", v->type());
}

}  // namespace slm::gguf
