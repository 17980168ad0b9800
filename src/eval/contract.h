// Task contracts: the YAML file every stage reads (docs/TASKS.md): name, input template with {slots},
// output kind (label set, JSON schema or text), data sources with a field mapping, metrics, quality bar,
// serving limits and a price table. Invalid contracts throw slm::Error naming the file, line and key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/records.h"

namespace slm::eval {

enum class OutputKind { label, json, text };
const char* output_kind_name(OutputKind k);

struct DataSources {
  std::vector<std::string> train;  // paths (resolved against the contract's folder); may be synthetic
  std::string eval;                // held-out set: real data only (rows marked synthetic are refused)
  data::FieldMap fields;           // slot (and "label"/"output") -> source field
};

struct QualityBar {
  std::optional<double> min_accuracy, min_f1, max_kl;  // min_f1: macro-F1 (labels) or field F1 (json)
};

struct ServingLimits {
  int max_tokens = 64;      // generated tokens per request
  double latency_ms = 0.0;  // p95 budget; 0 = none
};

// Price of one candidate: per million prompt / completion tokens (endpoints), or per hour of compute
// (local models: cost = latency x per_hour).
struct Price {
  double input_per_mtok = 0.0, output_per_mtok = 0.0, per_hour = 0.0;
};

struct TaskContract {
  std::string name;
  std::string input;               // template: "Subject: {subject}\n{body}"; {{ and }} are literal braces
  std::vector<std::string> slots;  // slot names in order of first use
  std::string system;              // optional system message for chat models
  OutputKind kind = OutputKind::label;
  std::vector<std::string> labels;  // kind label: at least 2, distinct
  nlohmann::json schema;            // kind json
  DataSources data;
  std::vector<std::string> metrics;  // names from known_metrics()
  QualityBar quality;
  ServingLimits serving;
  std::map<std::string, Price> prices;  // candidate name (or "local", "default") -> price
  std::string path;                     // the file it came from (empty when parsed from text)
};

const std::vector<std::string>& known_metrics();

// Parses YAML text; `source` names it in errors, `base_dir` resolves relative data paths.
TaskContract parse_contract(const std::string& yaml, const std::string& source = "<task>",
                            const std::string& base_dir = "");
TaskContract load_contract(const std::string& path);

// The input template filled from a row (fields mapped by data.fields).
std::string render_input(const TaskContract& t, const data::Row& row);
// The expected output of a row: the label, the JSON text or the reference text (field "label" for label
// tasks, "output" otherwise, through the field mapping).
std::string expected_output(const TaskContract& t, const data::Row& row);
// The price for a candidate: its own entry, else "local"/"endpoint" by kind, else "default", else zero.
Price price_for(const TaskContract& t, const std::string& candidate, bool local);

}  // namespace slm::eval
