// Quantising a whole GGUF model to one of llama.cpp's file types (quant/mix.h picks each tensor's type).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace slm::gguf {
class File;
}

namespace slm::model {

struct Imatrix;

struct QuantizeOptions {
  std::string file_type;            // "Q4_K_M", "Q8_0", "F16", ... (quant::file_types())
  const Imatrix* imatrix = nullptr;  // optional importance weights, by tensor name
  int n_threads = 0;                // 0: one per hardware thread
  bool pure = false;                // no mix: every quantised tensor gets the base type (with fallbacks)
  std::string imatrix_file;         // recorded as quantize.imatrix.file when imatrix is set
  // Called before each tensor: (index, count, name, chosen type).
  std::function<void(size_t, size_t, const std::string&, DType)> progress;
};

struct QuantizedTensor {
  std::string name;
  DType from = DType::F32, to = DType::F32;
  uint64_t bytes_in = 0, bytes_out = 0;
  bool fallback = false;    // the mix's type did not fit the row length
  bool used_imatrix = false;
};

struct QuantizeReport {
  uint32_t file_type = 0;  // general.file_type written
  std::vector<QuantizedTensor> tensors;  // in file order
  uint64_t bytes_in = 0, bytes_out = 0;
  int n_fallback = 0;
};

// Reads `in`, writes the quantised model to out_path (atomically). Metadata is copied, general.file_type and
// general.quantization_version (2) are set; tensors that are not quantised (1-D, norms) keep their type.
// Throws slm::Error for an unknown file type, an unreadable source type or an imatrix of the wrong size.
QuantizeReport quantize_model(const gguf::File& in, const std::string& out_path, const QuantizeOptions& opt);

}  // namespace slm::model
