// libFuzzer target for task contracts (the YAML every stage reads): any text either parses or throws
// slm::Error naming the file and key; a parsed contract is consistent (a label task has two or more
// distinct labels, every slot comes from the input template) and fills its template from a row that has
// every field.
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/error.h"
#include "eval/contract.h"

volatile size_t g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::eval;
  std::optional<TaskContract> t;
  try {
    t.emplace(parse_contract(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml", "/base"));
  } catch (const slm::Error&) {
    return 0;
  }
  if (t->kind == OutputKind::label &&
      (t->labels.size() < 2 || std::set<std::string>(t->labels.begin(), t->labels.end()).size() != t->labels.size()))
    __builtin_trap();
  slm::data::Row row = slm::data::Row::object();
  for (const std::string& slot : t->slots) {
    const auto it = t->data.fields.find(slot);
    row[it == t->data.fields.end() ? slot : it->second] = "v";
  }
  for (const char* out : {"label", "output"}) {
    const auto it = t->data.fields.find(out);
    row[it == t->data.fields.end() ? std::string(out) : it->second] = t->labels.empty() ? "o" : t->labels[0];
  }
  try {
    g_sink = render_input(*t, row).size() + expected_output(*t, row).size();
  } catch (const slm::Error&) {
    __builtin_trap();  // every field is there: filling must not fail
  }
  g_sink = g_sink + size_t(price_for(*t, "local", true).per_hour);
  return 0;
}
