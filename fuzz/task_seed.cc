// Writes the task-contract fuzz seeds: a label task with every key, a JSON task with a schema, a text task.
#include "text_seeds.h"

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"(name: spam
input: "Subject: {subject}\n{body} {{x}}"
system: You sort mail.
output:
  kind: label
  labels: [spam, ham]
data:
  train: [a.jsonl, b.csv]
  eval: held.jsonl
  fields: {subject: subj, label: y}
metrics: [accuracy, macro_f1]
quality: {min_accuracy: 0.9, min_f1: 0.85, max_kl: 0.02}
serving: {max_tokens: 8, latency_ms: 250}
prices:
  gpt: {input_per_mtok: 0.15, output_per_mtok: 0.6}
  local: {per_hour: 0.5}
)",
    R"(name: extract
input: |
  Invoice:
  {text}
output:
  kind: json
  schema:
    type: object
    properties:
      total: {type: number}
      currency: {enum: [EUR, USD]}
    required: [total]
data: {eval: e.jsonl, fields: {output: gold}}
metrics: [json_valid, field_f1]
)",
    R"(name: summary
input: "{doc}"
output: {kind: text}
data: {eval: e.jsonl}
metrics: [exact_match]
serving: {max_tokens: 64}
)",
  });
}
