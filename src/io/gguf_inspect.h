// A readable summary of a GGUF file (what `slm inspect` prints): metadata with long arrays
// summarised, the tensor table, the parameter count and the bytes per tensor type.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "io/gguf.h"

namespace slm::gguf {

struct InspectOptions {
  size_t max_items = 8;          // array items shown before the summary cuts off
  size_t max_string_text = 100;  // characters of a string shown in the text form
};

// One JSON object: {file, version, alignment, data_offset, size, metadata: [{key, type, value} |
// {key, type: "array", elem_type, length, items, truncated}], tensors: [{name, type, shape, n_elements,
// bytes, offset}], n_parameters, bytes_by_type: {TYPE: {tensors, bytes}}}.
// Strings may hold invalid UTF-8: dump with nlohmann::json::error_handler_t::replace.
nlohmann::json inspect_json(const File& f, const InspectOptions& opt = {});

// The same facts as aligned text.
std::string inspect_text(const File& f, const InspectOptions& opt = {});

}  // namespace slm::gguf
