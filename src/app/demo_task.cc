// The demo's task contract and data files (see demo_task.h).
#include "app/demo_task.h"

#include <filesystem>

#include "core/error.h"
#include "data/records.h"
#include "tokenizer/tokenizer.h"

namespace slm::app {

namespace fs = std::filesystem;

namespace {

constexpr const char* kInput = "Subject: {subject}\n{body}\nSpam or ham?";

// Whitespace runs (newlines included) collapsed to one space, trimmed.
std::string squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

size_t utf8_floor(const std::string& s, size_t n) {
  if (n >= s.size()) return s.size();
  while (n > 0 && ((unsigned char)s[n] >> 6) == 2) --n;
  return n;
}

std::string fill(const std::string& subject, const std::string& body) {
  return "Subject: " + subject + "\n" + body + "\nSpam or ham?";
}

// Tokens of the prompt as scoring sees it: BOS + text + the template's trailing newline.
size_t prompt_tokens(const tok::Tokenizer& tok, const std::string& prefix, const std::string& text) {
  return tok.encode(prefix + text + "\n", {.add_special = true, .parse_special = true}).size();
}

// The longest prefix of `body` (whole UTF-8 characters) for which the prompt fits `budget` tokens.
std::string fit_body(const tok::Tokenizer& tok, const std::string& prefix, const std::string& subject,
                     const std::string& body, size_t budget) {
  if (prompt_tokens(tok, prefix, fill(subject, body)) <= budget) return body;
  size_t lo = 0, hi = std::min(body.size(), budget * 8);  // no token is longer than 8 bytes here in practice
  while (lo < hi) {
    const size_t mid = utf8_floor(body, (lo + hi + 1) / 2);
    if (mid <= lo) break;
    if (prompt_tokens(tok, prefix, fill(subject, body.substr(0, mid))) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return body.substr(0, utf8_floor(body, lo));
}

std::string cut_tokens(const tok::Tokenizer& tok, const std::string& s, size_t budget) {
  if (tok.encode(s, {.add_special = false}).size() <= budget) return s;
  size_t lo = 0, hi = std::min(s.size(), budget * 8);
  while (lo < hi) {
    const size_t mid = utf8_floor(s, (lo + hi + 1) / 2);
    if (mid <= lo) break;
    if (tok.encode(s.substr(0, mid), {.add_special = false}).size() <= budget) lo = mid;
    else hi = mid - 1;
  }
  return s.substr(0, utf8_floor(s, lo));
}

// A YAML double-quoted scalar (JSON string syntax is valid YAML).
std::string yaml_str(const std::string& s) { return json(s).dump(); }

// Literal text inside an input template: braces doubled.
std::string template_literal(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '{' ? "{{" : c == '}' ? "}}" : std::string(1, c);
  return out;
}

std::string contract(const std::string& name, const std::string& input, const std::string& body_field) {
  return "# The demo's spam task (written by `slm demo`; docs/TASKS.md describes the format).\n"
         "name: " + name + "\n"
         "input: " + yaml_str(input) + "\n"
         "output: {kind: label, labels: [spam, ham]}\n"
         "data:\n  train: train.jsonl\n  eval: eval.jsonl\n"
         "  fields: {subject: subject, body: " + body_field + ", label: label}\n"
         "metrics: [accuracy, macro_f1, per_class, confusion, calibration, latency, cost]\n"
         "quality: {min_accuracy: 0.9, min_f1: 0.85, max_kl: 0.05}\n"
         "serving: {max_tokens: 4, latency_ms: 500}\n"
         "prices: {local: {per_hour: 0.05}}\n";
}

}  // namespace

TaskFiles write_task_files(const DemoPlan& p, const tok::Tokenizer& tok, const std::string& data_dir,
                           const std::string& out_dir) {
  fs::create_directories(out_dir);
  const fs::path o(out_dir);
  std::vector<data::Row> train = data::read_jsonl((fs::path(data_dir) / "train.jsonl").string());
  std::vector<data::Row> eval = data::read_jsonl((fs::path(data_dir) / "eval.jsonl").string());
  TaskFiles tf;

  // Two short examples (the first ham and the first spam of the train split) for the base model.
  std::string shots;
  for (const char* want : {"ham", "spam"})
    for (const data::Row& r : train)
      if (r["label"] == want) {
        const std::string s = cut_tokens(tok, squeeze(r["subject"]), 10), b = cut_tokens(tok, squeeze(r["body"]), 16);
        shots += fill(s, b) + "\n" + want + "\n\n";
        break;
      }
  const size_t fewshot_budget = size_t(std::min<int64_t>(p.shape.context - 68, p.prompt_tokens + 40));

  ProgressLine progress("fitting prompts");
  const size_t total = train.size() + eval.size();
  size_t done = 0;
  auto fit_rows = [&](std::vector<data::Row>& rows) {
    for (data::Row& r : rows) {
      const std::string subject = cut_tokens(tok, squeeze(r["subject"]), 24), body = squeeze(r["body"]);
      const std::string fitted = fit_body(tok, "", subject, body, size_t(p.prompt_tokens));
      tf.n_truncated += fitted.size() < body.size();
      r = {{"id", r["id"]}, {"subject", subject}, {"body", fitted},
           {"body_short", fit_body(tok, shots, subject, fitted, fewshot_budget)}, {"label", r["label"]}};
      progress.update(++done, total);
    }
  };
  fit_rows(train);
  fit_rows(eval);
  data::write_jsonl((o / "train.jsonl").string(), train);
  data::write_jsonl((o / "eval.jsonl").string(), eval);
  tf.contract = (o / "task.yaml").string();
  tf.fewshot = (o / "fewshot.yaml").string();
  write_text(tf.contract, contract("spam", kInput, "body"));
  write_text(tf.fewshot, contract("spam-fewshot", template_literal(shots) + kInput, "body_short"));

  // LoRA records: the prompt as the chat template renders it (text + "\n"), the label as the completion.
  // The last 64 train mails are the validation set of the training loss (never the held-out mails).
  const size_t n_valid = std::min<size_t>(64, train.size() / 10);
  std::vector<data::Row> lt, lv;
  for (size_t i = 0; i < train.size(); ++i) {
    const data::Row& r = train[i];
    data::Row rec = {{"prompt", fill(r["subject"], r["body"]) + "\n"}, {"completion", r["label"]}};
    (i + n_valid < train.size() ? lt : lv).push_back(std::move(rec));
  }
  tf.lora_train = (o / "lora-train.jsonl").string();
  tf.lora_valid = (o / "lora-valid.jsonl").string();
  data::write_jsonl(tf.lora_train, lt);
  data::write_jsonl(tf.lora_valid, lv);
  tf.n_train = lt.size();
  tf.n_eval = eval.size();
  return tf;
}

}  // namespace slm::app
