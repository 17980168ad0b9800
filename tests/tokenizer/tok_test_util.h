// Helpers for tokenizer tests: llama.cpp's .inp/.out vector files, small file readers, id printing.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/spec.h"

namespace slm::tok::testing {

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// NAME.inp: each text followed by "\n__ggml_vocab_test__\n".
inline std::vector<std::string> read_inp(const std::string& path) {
  const std::string all = read_all(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t p; (p = all.find(sep, at)) != std::string::npos; at = p + sep.size()) out.push_back(all.substr(at, p - at));
  return out;
}

// NAME.out: one line of space-separated ids per case.
inline std::vector<std::vector<TokenId>> read_out(const std::string& path) {
  std::istringstream in(read_all(path));
  std::vector<std::vector<TokenId>> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<TokenId> ids;
    for (TokenId id; ls >> id;) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

inline std::string ids_str(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

}  // namespace slm::tok::testing
