// Task contracts: a full contract parses; every kind of mistake names the key and its line.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/contract.h"

namespace slm::eval {
namespace {

const char* kGood = R"(name: spam
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
)";

std::string error_of(const std::string& yaml) {
  try {
    parse_contract(yaml, "t.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Contract, ParsesEveryKey) {
  const TaskContract t = parse_contract(kGood, "t.yaml", "/d");
  EXPECT_EQ(t.name, "spam");
  EXPECT_EQ(t.slots, (std::vector<std::string>{"subject", "body"}));
  EXPECT_EQ(t.kind, OutputKind::label);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"spam", "ham"}));
  EXPECT_EQ(t.data.train, (std::vector<std::string>{"/d/a.jsonl", "/d/b.csv"}));
  EXPECT_EQ(t.data.eval, "/d/held.jsonl");
  EXPECT_EQ(t.data.fields.at("subject"), "subj");
  EXPECT_DOUBLE_EQ(*t.quality.min_accuracy, 0.9);
  EXPECT_DOUBLE_EQ(*t.quality.max_kl, 0.02);
  EXPECT_EQ(t.serving.max_tokens, 8);
  EXPECT_DOUBLE_EQ(t.serving.latency_ms, 250);
  EXPECT_DOUBLE_EQ(price_for(t, "gpt", false).output_per_mtok, 0.6);
  EXPECT_DOUBLE_EQ(price_for(t, "x.gguf", true).per_hour, 0.5);
  EXPECT_DOUBLE_EQ(price_for(t, "other", false).input_per_mtok, 0.0);
  const data::Row row = {{"subj", "Hi"}, {"body", "text"}, {"y", "ham"}};
  EXPECT_EQ(render_input(t, row), "Subject: Hi\ntext {x}");
  EXPECT_EQ(expected_output(t, row), "ham");
}

// YAML allows lists and maps as keys; a contract does not, wherever they appear (they reached yaml-cpp's
// string conversion and ended the process, found by the task_fuzz target).
TEST(Contract, ListOrMapKeysAreLocatedErrors) {
  const std::string base = "name: x\ninput: \"{text}\"\ndata: {train: [t.jsonl], eval: e.jsonl}\n";
  for (const std::string& tail :
       {std::string("output: {kind: label, labels: [a, b]}\n[k]: 1\n"),
        std::string("output:\n  kind: json\n  schema: {type: object, properties: {{enum, [A, B]}}}\n"),
        std::string("output: {kind: label, labels: [a, b]}\nprices: {[p]: {per_hour: 1}}\n"),
        std::string("output: {kind: label, labels: [a, b]}\nquality: {{a: b}: 1}\n")}) {
    const std::string err = error_of(base + tail);
    EXPECT_NE(err.find("a key must be a plain string"), std::string::npos) << tail << " -> " << err;
    EXPECT_NE(err.find("t.yaml:"), std::string::npos) << err;
  }
  const std::string fields = error_of("name: x\ninput: \"{text}\"\noutput: {kind: text}\n"
                                      "data: {train: [t.jsonl], eval: e.jsonl, fields: {[text]: body}}\n");
  EXPECT_NE(fields.find("data.fields"), std::string::npos) << fields;
}

TEST(Contract, JsonKindKeepsTheSchema) {
  const TaskContract t = parse_contract(R"(name: x
input: "{text}"
output:
  kind: json
  schema: {type: object, properties: {n: {type: integer}}, required: [n]}
data: {train: t.jsonl, eval: e.jsonl}
)");
  EXPECT_EQ(t.kind, OutputKind::json);
  EXPECT_EQ(t.schema["properties"]["n"]["type"], "integer");
  EXPECT_EQ(t.schema["required"][0], "n");
}

TEST(Contract, ErrorsNameKeyAndLine) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string s = kGood;
    const size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return s.replace(p, from.size(), to);
  };
  EXPECT_EQ(error_of(with("kind: label", "kind: labels")),
            "[task] t.yaml:5: key 'output.kind': expected label, json or text, got 'labels'");
  EXPECT_EQ(error_of(with("[spam, ham]", "[spam, spam]")), "[task] t.yaml:6: key 'output.labels': duplicate label 'spam'");
  EXPECT_EQ(error_of(with("[spam, ham]", "[spam]")), "[task] t.yaml:6: key 'output.labels': need at least 2 labels");
  EXPECT_NE(error_of(with("serving:", "servings:")).find("t.yaml:13: key 'servings': unknown key"), std::string::npos);
  EXPECT_NE(error_of(with("max_tokens: 8", "max_tokens: -1")).find("t.yaml:13: key 'serving.max_tokens'"), std::string::npos);
  EXPECT_NE(error_of(with("min_f1: 0.85", "min_f1: high")).find("t.yaml:12: key 'quality.min_f1': expected a number"),
            std::string::npos);
  EXPECT_NE(error_of(with("{subject}", "{sub ject}")).find("t.yaml:2: key 'input': bad slot name"), std::string::npos);
  EXPECT_NE(error_of(with("[accuracy, macro_f1]", "[accuracy, f2]")).find("t.yaml:11: key 'metrics': unknown metric 'f2'"),
            std::string::npos);
  EXPECT_NE(error_of(with("eval: held.jsonl", "eval: a.jsonl")).find("t.yaml:9: key 'data.eval': the held-out set must not"),
            std::string::npos);
  EXPECT_NE(error_of(with("  fields:", "  feilds:")).find("t.yaml:10: key 'data.feilds'"), std::string::npos);
  EXPECT_NE(error_of("name: x\ninput: [\n").find("[task] t.yaml:"), std::string::npos);  // YAML syntax
  EXPECT_NE(error_of("name: x\n").find("key 'input': missing"), std::string::npos);
  EXPECT_NE(error_of("- a\n").find("expected a YAML map"), std::string::npos);
  EXPECT_NE(error_of("name: x\ninput: '{a}'\noutput: {kind: json}\ndata: {train: a, eval: b}\n").find("output.schema"),
            std::string::npos);
}

}  // namespace
}  // namespace slm::eval
