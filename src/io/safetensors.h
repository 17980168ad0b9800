// safetensors: a memory-mapped, validating reader (single files and sharded checkpoints) and a writer.
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// then the data section; offsets are relative to the data section. Only F32, F16 and BF16 are accepted.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/mmap.h"

namespace slm::safetensors {

struct TensorInfo {
  std::string name;
  DType type = DType::F32;      // F32, F16 or BF16
  std::vector<int64_t> shape;   // row-major, outermost first (PyTorch order; reverse of GGUF's ne)
  uint64_t begin = 0, end = 0;  // byte range inside the data section
  int64_t n_elements() const;
};

class File {
 public:
  // Maps and validates; bad input throws slm::Error("[safetensors] <path>: ...").
  static File open(const std::string& path);
  // Parses bytes the caller keeps alive (fuzz target and tests).
  static File parse(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

  const std::string& name() const { return name_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in header order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  const TensorInfo* find(std::string_view name) const;
  std::span<const uint8_t> tensor_data(const TensorInfo& t) const;  // zero-copy view

 private:
  std::shared_ptr<MappedFile> map_;
  std::span<const uint8_t> data_;  // the data section
  std::string name_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint directory: model.safetensors, or the shards listed in model.safetensors.index.json
// ("weight_map": tensor -> shard file). A single *.safetensors path is accepted too.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& path);

  struct Entry {
    const File* file;
    const TensorInfo* info;
  };
  const std::vector<Entry>& tensors() const { return entries_; }  // shard order, then header order
  const Entry* find(std::string_view name) const;
  std::span<const uint8_t> tensor_data(const Entry& e) const { return e.file->tensor_data(*e.info); }
  size_t n_shards() const { return files_.size(); }

 private:
  std::vector<std::unique_ptr<File>> files_;
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Builds a safetensors file. Tensors are written back to back in the order added (the format allows no
// gaps); the header is padded with spaces to a multiple of 8 bytes, as the reference library does.
class Writer {
 public:
  // `data` must stay alive until write(); its size must equal the shape's byte count (checked).
  void add_tensor(std::string name, DType type, std::vector<int64_t> shape, std::span<const uint8_t> data);
  void set_metadata(std::string key, std::string value);  // "__metadata__" entries
  std::vector<uint8_t> to_bytes() const;
  void write(const std::string& path) const;  // atomic: path.tmp then rename
  size_t n_tensors() const { return tensors_.size(); }

 private:
  std::string header_json() const;
  struct Pending {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::span<const uint8_t> data;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

// "F32" / "F16" / "BF16" <-> DType; other safetensors dtypes ("I64", "F8_E4M3", ...) throw slm::Error.
DType dtype_from_string(std::string_view s, std::string_view where);
const char* dtype_to_string(DType t);  // t must be F32, F16 or BF16

}  // namespace slm::safetensors
