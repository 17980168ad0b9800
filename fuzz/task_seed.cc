// Writes the task-contract fuzz seeds: a label task with every key, a JSON task with a schema, a text task.
#include "text_seeds.h"

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"(name: route
system: Route the ticket.
input: "From: {sender}\nTicket: {text} {{raw}}"
output:
  kind: label
  labels: [billing, outage, other]
data:
  train: [t1.jsonl, t2.csv]
  eval: heldout.jsonl
  fields: {sender: from, label: queue}
metrics: [accuracy, macro_f1, latency, cost]
quality: {min_accuracy: 0.8, min_f1: 0.75, max_kl: 0.05}
serving: {max_tokens: 4, latency_ms: 120}
prices:
  hosted: {input_per_mtok: 0.4, output_per_mtok: 1.6}
  default: {per_hour: 1.2}
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
data: {train: [t.jsonl], eval: e.jsonl, fields: {output: gold}}
metrics: [json_validity, field_f1]
)",
    R"(name: summary
input: "{doc}"
output: {kind: text}
data: {train: [t.jsonl], eval: e.jsonl}
metrics: [exact_match]
serving: {max_tokens: 64}
)",
  });
}
