// GGUF v2/v3: a memory-mapped, validating reader with zero-copy tensor views, and a byte-exact writer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "io/mmap.h"

namespace slm::gguf {

// Metadata value type ids as written in the file.
enum class ValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
const char* value_type_name(ValueType t);

struct Value;
struct Array {
  ValueType elem_type = ValueType::u8;
  std::vector<Value> items;  // may themselves be arrays (nested)
  friend bool operator==(const Array&, const Array&) = default;
};

// The variant's index equals the ValueType id.
using ValueData = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, Array, uint64_t, int64_t, double>;
struct Value {
  ValueData data;
  ValueType type() const { return ValueType(data.index()); }
  friend bool operator==(const Value&, const Value&) = default;
};

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order: ne[0] is the contiguous (row) dimension; 1..4 dims
  DType type = DType::F32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t n_bytes = 0;
  int64_t n_elements() const;
};

class File {
 public:
  // Maps and validates the whole file; every malformed input throws slm::Error naming the problem
  // and the byte offset or key ("[gguf] <path>: offset 24: string length 9e18 past end of file").
  static File open(const std::string& path);
  // Parses bytes the caller keeps alive (used by the fuzz target and tests).
  static File parse(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section
  uint64_t header_size() const { return header_size_; }  // end of the tensor infos (before padding)
  const std::string& name() const { return name_; }
  const std::vector<KeyValue>& metadata() const { return kv_; }  // in file order
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  std::span<const uint8_t> bytes() const { return bytes_; }

  const Value* find(std::string_view key) const;
  const TensorInfo* find_tensor(std::string_view name) const;
  std::span<const uint8_t> tensor_data(const TensorInfo& t) const;  // zero-copy view into the map

  // Typed getters; throw slm::Error "[gguf] key 'x': expected u32, got string" on a type mismatch.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;  // any unsigned or non-negative signed int
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;    // f32 / f64
  std::optional<bool> get_bool(std::string_view key) const;
  const Array* get_array(std::string_view key) const;

 private:
  std::shared_ptr<MappedFile> map_;  // null when parsed from caller-owned bytes
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 3;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  uint64_t header_size_ = 0;
  std::vector<KeyValue> kv_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> kv_index_, tensor_index_;
};

// Builds a GGUF file. Writing back what File read (same metadata, tensors, offsets and alignment)
// reproduces the input byte for byte.
class Writer {
 public:
  explicit Writer(uint32_t version = 3) : version_(version) {}
  void set_alignment(uint64_t a);  // also written as general.alignment when != 32 and not set explicitly
  void add_kv(std::string key, Value v);  // appends (a duplicate key is written as given)
  void set_kv(std::string key, Value v);  // replaces the value of an existing key, else appends
  // Tensor data is copied at write time from `data` (which must stay alive until write()).
  // offset: nullopt = next aligned position after the previous tensor.
  void add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::span<const uint8_t> data,
                  std::optional<uint64_t> offset = std::nullopt);
  std::vector<uint8_t> to_bytes() const;
  void write(const std::string& path) const;  // atomic: writes path.tmp then renames

  // A writer holding everything `f` holds, for round trips and edits; `f` must outlive it.
  // While the header keeps its size and no tensor is added, everything after the header
  // (padding, gaps, trailing bytes) is reproduced verbatim; otherwise the canonical layout is written.
  static Writer from(const File& f);

  // Layout: tensors are placed at their offsets, padding is zero-filled; with no tensors the file
  // ends right after the header (as gguf-py writes vocabulary-only files).
  // The writer checks nothing about shapes: it writes exactly what it is given (tests build
  // malformed files with it); File::parse is the validator.

 private:
  struct PendingTensor {
    TensorInfo info;
    std::span<const uint8_t> data;
    bool explicit_offset = false;
  };
  std::vector<uint8_t> header_bytes(const std::vector<uint64_t>& offsets) const;
  std::vector<uint64_t> layout(uint64_t* data_size) const;
  template <typename Sink>
  void emit(Sink&& sink) const;

  uint32_t version_;
  uint64_t alignment_ = 32;
  std::vector<KeyValue> kv_;
  std::vector<PendingTensor> tensors_;
  // Set by from(): the source's bytes after its header, reused verbatim while the layout is unchanged.
  bool has_source_ = false;
  std::span<const uint8_t> source_tail_;
  uint64_t source_header_size_ = 0;
  size_t source_tensor_count_ = 0;
};

}  // namespace slm::gguf
