// gguf_metadata.json: the GGUF facts a Hugging Face folder cannot hold, written by export_hf and read
// by convert_hf (format described in convert.h). Values keep their exact GGUF types; strings that are
// not UTF-8 are written as {"hex": "..."}; non-finite floats as "nan" / "inf" / "-inf".
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "io/gguf.h"

namespace slm::convert {

struct SideTensor {
  std::string name;  // GGUF name
  DType type = DType::F32;
  std::string hf;    // Hugging Face name; "" when the tensor lives in gguf_extra.safetensors or is generated
};

struct SideFile {
  uint32_t version = 3;
  uint64_t alignment = 32;
  std::vector<gguf::KeyValue> metadata;  // in file order
  std::vector<SideTensor> tensors;       // in file order
  // FNV-1a of tokenizer.json + tokenizer_config.json as exported: while they are unchanged the recorded
  // tokenizer.* metadata is used as it is (a SentencePiece vocabulary's scores do not survive tokenizer.json).
  std::string tokenizer_fingerprint;
};

// FNV-1a 64 of the concatenated contents of `paths` (missing files count as empty), as 16 hex digits.
std::string files_fingerprint(const std::vector<std::string>& paths);

nlohmann::json side_to_json(const SideFile& s);
SideFile side_from_json(const nlohmann::json& j, const std::string& where);  // throws slm::Error

nlohmann::json value_to_json(const gguf::Value& v);
gguf::Value value_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace slm::convert
