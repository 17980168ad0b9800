// See brown.h.
#include "data/brown.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace slm::data {

std::vector<std::filesystem::path> brown_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.size() == 4 && n[0] == 'c' && n[1] >= 'a' && n[1] <= 'r' &&
        std::isdigit(static_cast<unsigned char>(n[2])) && std::isdigit(static_cast<unsigned char>(n[3])))
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string brown_words(const std::filesystem::path& file) {
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

}  // namespace slm::data
