// The seed writers' common part: each writes its texts as files 0, 1, ... into the corpus directory.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

inline int write_seeds(int argc, char** argv, std::initializer_list<std::string_view> seeds) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  int i = 0;
  for (std::string_view s : seeds) {
    const std::string path = std::string(argv[1]) + "/seed-" + std::to_string(i++);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(s.data(), 1, s.size(), f) != s.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
