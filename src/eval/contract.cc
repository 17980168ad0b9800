// Task contract parsing and validation with located errors.
#include "eval/contract.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace slm::eval {

namespace {

struct Ctx {
  std::string source;
  [[noreturn]] void bad(const YAML::Node& n, const std::string& key, const std::string& what) const {
    const int line = n.IsDefined() && !n.Mark().is_null() ? n.Mark().line + 1 : 0;
    if (line > 0) fail("[task] {}:{}: key '{}': {}", source, line, key, what);
    fail("[task] {}: key '{}': {}", source, key, what);
  }
};

// A map key as text: YAML allows lists and maps as keys ({[a, b]: c}), a contract does not.
std::string key_text(const Ctx& c, const YAML::Node& k, const std::string& where) {
  if (!k.IsScalar()) c.bad(k, where, "a key must be a plain string, not a list or a map");
  return k.as<std::string>();
}

std::string scalar(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) c.bad(n, key, "expected a string");
  return n.as<std::string>();
}

double number(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) c.bad(n, key, "expected a number");
  try {
    return n.as<double>();
  } catch (const YAML::Exception&) {
    c.bad(n, key, "expected a number, got '" + n.as<std::string>() + "'");
  }
}

void only_keys(const Ctx& c, const YAML::Node& map, const std::string& where, std::set<std::string> allowed) {
  for (const auto& kv : map) {
    const std::string k = key_text(c, kv.first, where);
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      c.bad(kv.first, where.empty() ? k : where + "." + k, "unknown key (allowed: " + list + ")");
    }
  }
}

nlohmann::json to_json(const Ctx& c, const YAML::Node& n, const std::string& where) {
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) {
      const std::string k = key_text(c, kv.first, where);
      o[k] = to_json(c, kv.second, where + "." + k);
    }
    return o;
  }
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& v : n) a.push_back(to_json(c, v, where + "[]"));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string s = n.as<std::string>();
  if (n.Tag() == "!") return s;  // quoted in the YAML: a string
  if (s == "true" || s == "false") return s == "true";
  if (s == "null" || s == "~") return nullptr;
  try {
    size_t used = 0;
    const long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
    const double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (...) {
  }
  return s;
}

std::vector<std::string> template_slots(const Ctx& c, const YAML::Node& n, const std::string& tmpl) {
  std::vector<std::string> slots;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      ++i;
      continue;
    }
    if (tmpl[i] == '}' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      ++i;
      continue;
    }
    if (tmpl[i] == '}') c.bad(n, "input", "unmatched '}' at offset " + std::to_string(i) + " (write }} for a brace)");
    if (tmpl[i] != '{') continue;
    const size_t e = tmpl.find('}', i);
    if (e == std::string::npos) c.bad(n, "input", "unterminated slot at offset " + std::to_string(i));
    const std::string name = tmpl.substr(i + 1, e - i - 1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char ch) { return std::isalnum((unsigned char)ch) || ch == '_'; }))
      c.bad(n, "input", "bad slot name '{" + name + "}' (letters, digits, _)");
    if (std::find(slots.begin(), slots.end(), name) == slots.end()) slots.push_back(name);
    i = e;
  }
  if (slots.empty()) c.bad(n, "input", "the template has no {slot}");
  return slots;
}

std::string resolve(const std::string& base, const std::string& p) {
  namespace fs = std::filesystem;
  return base.empty() || fs::path(p).is_absolute() ? p : (fs::path(base) / p).lexically_normal().string();
}

void parse_output(const Ctx& c, const YAML::Node& out, TaskContract& t) {
  if (!out.IsMap()) c.bad(out, "output", "expected a map with 'kind'");
  only_keys(c, out, "output", {"kind", "labels", "schema"});
  if (!out["kind"]) c.bad(out, "output.kind", "missing (label, json or text)");
  const std::string kind = scalar(c, out["kind"], "output.kind");
  if (kind == "label") t.kind = OutputKind::label;
  else if (kind == "json") t.kind = OutputKind::json;
  else if (kind == "text") t.kind = OutputKind::text;
  else c.bad(out["kind"], "output.kind", "expected label, json or text, got '" + kind + "'");
  if (t.kind == OutputKind::label) {
    const YAML::Node l = out["labels"];
    if (!l || !l.IsSequence()) c.bad(l ? l : out, "output.labels", "a label task needs a list of labels");
    std::set<std::string> seen;
    for (const auto& v : l) {
      const std::string s = scalar(c, v, "output.labels");
      if (s.empty()) c.bad(v, "output.labels", "empty label");
      if (!seen.insert(s).second) c.bad(v, "output.labels", "duplicate label '" + s + "'");
      t.labels.push_back(s);
    }
    if (t.labels.size() < 2) c.bad(l, "output.labels", "need at least 2 labels");
  } else if (out["labels"]) {
    c.bad(out["labels"], "output.labels", "only for kind: label");
  }
  if (t.kind == OutputKind::json) {
    const YAML::Node s = out["schema"];
    if (!s || !s.IsMap()) c.bad(s ? s : out, "output.schema", "a json task needs a JSON schema (a map)");
    t.schema = to_json(c, s, "output.schema");
  }
}

void parse_data(const Ctx& c, const YAML::Node& d, TaskContract& t, const std::string& base) {
  if (!d.IsMap()) c.bad(d, "data", "expected a map with train, eval and fields");
  only_keys(c, d, "data", {"train", "eval", "fields"});
  const YAML::Node tr = d["train"], ev = d["eval"];
  if (!tr) c.bad(d, "data.train", "missing");
  if (!ev) c.bad(d, "data.eval", "missing");
  if (tr.IsSequence()) {
    for (const auto& v : tr) t.data.train.push_back(resolve(base, scalar(c, v, "data.train")));
    if (t.data.train.empty()) c.bad(tr, "data.train", "empty list");
  } else {
    t.data.train.push_back(resolve(base, scalar(c, tr, "data.train")));
  }
  t.data.eval = resolve(base, scalar(c, ev, "data.eval"));
  for (const auto& p : t.data.train)
    if (p == t.data.eval) c.bad(ev, "data.eval", "the held-out set must not be a training file");
  if (const YAML::Node f = d["fields"]) {
    if (!f.IsMap()) c.bad(f, "data.fields", "expected a map slot: field");
    for (const auto& kv : f) {
      const std::string slot = key_text(c, kv.first, "data.fields");
      t.data.fields[slot] = scalar(c, kv.second, "data.fields." + slot);
    }
  }
}

}  // namespace

const char* output_kind_name(OutputKind k) {
  return k == OutputKind::label ? "label" : k == OutputKind::json ? "json" : "text";
}

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> m = {"accuracy", "macro_f1", "per_class", "confusion", "calibration",
                                             "exact_match", "json_validity", "field_f1", "latency", "throughput",
                                             "cost"};
  return m;
}

namespace {

TaskContract parse_root(const Ctx& c, const YAML::Node& root, const std::string& base_dir) {
  if (!root.IsMap()) fail("[task] {}: expected a YAML map at the top level", c.source);
  only_keys(c, root, "", {"name", "input", "system", "output", "data", "metrics", "quality", "serving", "prices"});
  TaskContract t;
  if (!root["name"]) fail("[task] {}: key 'name': missing", c.source);
  t.name = scalar(c, root["name"], "name");
  if (t.name.empty()) c.bad(root["name"], "name", "empty");
  if (!root["input"]) fail("[task] {}: key 'input': missing (a template with {{slots}})", c.source);
  t.input = scalar(c, root["input"], "input");
  t.slots = template_slots(c, root["input"], t.input);
  if (root["system"]) t.system = scalar(c, root["system"], "system");
  if (!root["output"]) fail("[task] {}: key 'output': missing", c.source);
  parse_output(c, root["output"], t);
  if (!root["data"]) fail("[task] {}: key 'data': missing", c.source);
  parse_data(c, root["data"], t, base_dir);
  if (const YAML::Node m = root["metrics"]) {
    if (!m.IsSequence()) c.bad(m, "metrics", "expected a list");
    for (const auto& v : m) {
      const std::string s = scalar(c, v, "metrics");
      const auto& k = known_metrics();
      if (std::find(k.begin(), k.end(), s) == k.end()) c.bad(v, "metrics", "unknown metric '" + s + "'");
      t.metrics.push_back(s);
    }
  }
  if (const YAML::Node q = root["quality"]) {
    if (!q.IsMap()) c.bad(q, "quality", "expected a map");
    only_keys(c, q, "quality", {"min_accuracy", "min_f1", "max_kl"});
    auto frac = [&](const char* k, std::optional<double>& out) {
      if (!q[k]) return;
      const double v = number(c, q[k], std::string("quality.") + k);
      if (v < 0 || (std::string(k) != "max_kl" && v > 1)) c.bad(q[k], std::string("quality.") + k, "out of range");
      out = v;
    };
    frac("min_accuracy", t.quality.min_accuracy);
    frac("min_f1", t.quality.min_f1);
    frac("max_kl", t.quality.max_kl);
  }
  if (const YAML::Node s = root["serving"]) {
    if (!s.IsMap()) c.bad(s, "serving", "expected a map");
    only_keys(c, s, "serving", {"max_tokens", "latency_ms"});
    if (s["max_tokens"]) {
      const double v = number(c, s["max_tokens"], "serving.max_tokens");
      if (v < 1 || v != double(int(v))) c.bad(s["max_tokens"], "serving.max_tokens", "expected a positive integer");
      t.serving.max_tokens = int(v);
    }
    if (s["latency_ms"]) {
      t.serving.latency_ms = number(c, s["latency_ms"], "serving.latency_ms");
      if (t.serving.latency_ms < 0) c.bad(s["latency_ms"], "serving.latency_ms", "must be >= 0");
    }
  }
  if (const YAML::Node p = root["prices"]) {
    if (!p.IsMap()) c.bad(p, "prices", "expected a map name: {input_per_mtok, output_per_mtok, per_hour}");
    for (const auto& kv : p) {
      const std::string name = key_text(c, kv.first, "prices"), key = "prices." + name;
      if (!kv.second.IsMap()) c.bad(kv.second, key, "expected a map");
      only_keys(c, kv.second, key, {"input_per_mtok", "output_per_mtok", "per_hour"});
      Price pr;
      if (kv.second["input_per_mtok"]) pr.input_per_mtok = number(c, kv.second["input_per_mtok"], key + ".input_per_mtok");
      if (kv.second["output_per_mtok"]) pr.output_per_mtok = number(c, kv.second["output_per_mtok"], key + ".output_per_mtok");
      if (kv.second["per_hour"]) pr.per_hour = number(c, kv.second["per_hour"], key + ".per_hour");
      t.prices[name] = pr;
    }
  }
  return t;
}

}  // namespace

TaskContract parse_contract(const std::string& yaml, const std::string& source, const std::string& base_dir) {
  Ctx c{source};
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    fail("[task] {}:{}: YAML syntax: {}", source, e.mark.line + 1, e.msg);
  }
  try {
    return parse_root(c, root, base_dir);
  } catch (const YAML::Exception& e) {  // a conversion the checks above let through: still located
    fail("[task] {}:{}: {}", source, e.mark.line + 1, e.msg);
  }
}

TaskContract load_contract(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[task] cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  TaskContract t = parse_contract(ss.str(), path, std::filesystem::path(path).parent_path().string());
  t.path = path;
  return t;
}

std::string render_input(const TaskContract& t, const data::Row& row) {
  std::string out;
  const std::string& s = t.input;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '{' || s[i] == '}') && i + 1 < s.size() && s[i + 1] == s[i]) {
      out += s[i++];
      continue;
    }
    if (s[i] != '{') {
      out += s[i];
      continue;
    }
    const size_t e = s.find('}', i);
    out += data::field_text(row, s.substr(i + 1, e - i - 1), t.data.fields);
    i = e;
  }
  return out;
}

std::string expected_output(const TaskContract& t, const data::Row& row) {
  return data::field_text(row, t.kind == OutputKind::label ? "label" : "output", t.data.fields);
}

Price price_for(const TaskContract& t, const std::string& candidate, bool local) {
  for (const std::string& k : {candidate, std::string(local ? "local" : "endpoint"), std::string("default")}) {
    auto it = t.prices.find(k);
    if (it != t.prices.end()) return it->second;
  }
  return {};
}

}  // namespace slm::eval
