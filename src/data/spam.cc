// SpamAssassin corpus loader.
#include "data/spam.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/mail.h"

namespace slm::data {

namespace fs = std::filesystem;

std::vector<Row> load_spam_assassin(const std::string& dir, size_t max_body_chars) {
  std::vector<Row> rows;
  size_t folders = 0;
  for (const char* sub : {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"}) {
    const fs::path d = fs::path(dir) / sub;
    if (!fs::is_directory(d)) continue;
    ++folders;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d))
      if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());  // .json twins hold no mail
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      const Mail m = parse_mail(ss.str());
      std::string body = m.body;
      if (max_body_chars && body.size() > max_body_chars) {
        size_t cut = max_body_chars;
        while (cut > 0 && ((unsigned char)body[cut] >> 6) == 2) --cut;  // keep whole UTF-8 characters
        body.resize(cut);
      }
      rows.push_back({{"id", std::string(sub) + "/" + f.filename().string()},
                      {"subject", m.subject},
                      {"body", body},
                      {"text", m.subject + "\n" + body},
                      {"label", std::string(sub).starts_with("spam") ? "spam" : "ham"}});
    }
  }
  if (folders == 0) fail("[data] no SpamAssassin folders under '{}'", dir);
  return rows;
}

}  // namespace slm::data
