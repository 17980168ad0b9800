// The seed writers' common part: each writes its seeds as files seed-0, seed-1, ... into the corpus directory.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

// Writes `bytes` to dir/name; false, saying so on stderr, when it cannot.
inline bool write_seed(const std::string& dir, const std::string& name, std::string_view bytes) {
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// The seed writers' main: argv[1] is the corpus directory.
inline int write_seeds(int argc, char** argv, std::initializer_list<std::string_view> seeds) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  int i = 0;
  for (std::string_view s : seeds)
    if (!write_seed(argv[1], "seed-" + std::to_string(i++), s)) return 1;
  return 0;
}
