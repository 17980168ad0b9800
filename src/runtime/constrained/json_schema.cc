// JSON Schema -> IR: walks the schema, resolving local $refs (recursion unrolled a bounded number of
// times), and refuses every validation keyword it cannot enforce, naming it and its JSON pointer.
#include <map>
#include <set>

#include "core/error.h"
#include "runtime/constrained/compile.h"
#include "runtime/constrained/json_values.h"
#include "runtime/constrained/pattern.h"
#include "runtime/constrained/schema_types.h"

namespace slm::constrained {
namespace {

using Json = nlohmann::ordered_json;

const std::set<std::string, std::less<>> kAnnotations = {
    "$schema", "$id", "$comment", "$anchor", "title", "description", "default", "examples", "example",
    "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "$defs", "definitions"};
const std::set<std::string, std::less<>> kValidation = {
    "$ref", "type", "enum", "const", "anyOf", "oneOf", "allOf", "nullable",
    "properties", "required", "additionalProperties", "unevaluatedProperties",
    "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems",
    "minLength", "maxLength", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};

constexpr int kMaxNesting = 128;

std::string show(const std::string& path) { return path.empty() ? "/" : path; }

std::string child(const std::string& path, std::string_view key) {
  std::string out = path + "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

class SchemaCompiler {
 public:
  SchemaCompiler(const Json& root, const CompileOptions& opt) : root_(root), opt_(opt) {}

  ExprPtr compile(const Json& s, const std::string& path, int level) {
    if (++nesting_ > kMaxNesting) error(path, "schema nested too deeply");
    ExprPtr e = compile_inner(s, path, level);
    --nesting_;
    return e;
  }

 private:
  template <typename... Args>
  [[noreturn]] void error(const std::string& path, fmt::format_string<Args...> f, Args&&... args) {
    fail("[schema] {} at {}", fmt::format(f, std::forward<Args>(args)...), show(path));
  }

  ExprPtr ws() const { return json_ws(opt_.max_ws); }
  ExprPtr any(int level) const { return json_any_value(std::max(opt_.max_depth - level, 0), opt_.max_ws); }

  void check_keywords(const Json& s, const std::string& path) {
    for (const auto& [k, v] : s.items()) {
      if (kAnnotations.count(k) || kValidation.count(k) || k.rfind("x-", 0) == 0) continue;
      error(child(path, k), "unsupported keyword '{}'", k);
    }
    if (s.contains("uniqueItems") && s["uniqueItems"] != false) {
      error(child(path, "uniqueItems"), "unsupported keyword 'uniqueItems' (true)");
    }
  }

  // Keywords other than annotations and `allowed`: used where a keyword must stand alone.
  void only(const Json& s, const std::string& path, const std::string& what, std::set<std::string> allowed) {
    allowed.insert(what);
    for (const auto& [k, v] : s.items()) {
      if (kValidation.count(k) && !allowed.count(k)) {
        error(child(path, k), "unsupported keyword '{}' next to '{}'", k, what);
      }
    }
  }

  ExprPtr compile_inner(const Json& s, const std::string& path, int level) {
    if (s.is_boolean()) return s.get<bool>() ? any(level) : ir_fail();
    if (!s.is_object()) error(path, "a schema must be an object or a boolean");
    check_keywords(s, path);
    if (s.contains("$ref")) return ref(s, path, level);
    if (s.contains("allOf")) {
      only(s, path, "allOf", {});
      const Json& a = s["allOf"];
      if (!a.is_array() || a.size() != 1) error(child(path, "allOf"), "unsupported keyword 'allOf' (more than one schema)");
      return compile(a[0], child(child(path, "allOf"), "0"), level);
    }
    for (const char* kw : {"anyOf", "oneOf"}) {
      if (!s.contains(kw)) continue;
      only(s, path, kw, {"nullable"});
      const Json& a = s[kw];
      const std::string p = child(path, kw);
      if (!a.is_array() || a.empty()) error(p, "'{}' must be a non-empty array", kw);
      if (std::string_view(kw) == "oneOf") check_exclusive(root_, a, p);
      std::vector<ExprPtr> alts;
      for (size_t i = 0; i < a.size(); ++i) alts.push_back(compile(a[i], child(p, std::to_string(i)), level));
      if (s.value("nullable", false)) alts.push_back(ir_literal("null"));
      return ir_alt(std::move(alts));
    }
    if (s.contains("enum") || s.contains("const")) return enumeration(s, path);
    std::vector<std::string> types = type_names(s, path);
    if (types.empty()) return any(level);
    std::vector<ExprPtr> alts;
    for (const auto& t : types) alts.push_back(of_type(t, s, path, level));
    if (s.value("nullable", false)) alts.push_back(ir_literal("null"));
    return ir_alt(std::move(alts));
  }

  ExprPtr ref(const Json& s, const std::string& path, int level) {
    only(s, path, "$ref", {});
    if (!s["$ref"].is_string()) error(child(path, "$ref"), "'$ref' must be a string");
    const std::string r = s["$ref"].get<std::string>();
    const Json* target = resolve_ref(root_, r);
    if (!target) error(child(path, "$ref"), "unsupported or unresolvable $ref '{}' (only local refs)", r);
    int& active = active_[r];
    if (active >= opt_.max_recursion) return ir_fail();  // recursion cut here: this branch is not taken
    ++active;
    ExprPtr e = compile(*target, r.size() > 1 ? r.substr(1) : std::string(), level);
    --active_[r];
    return e;
  }

  ExprPtr enumeration(const Json& s, const std::string& path) {
    only(s, path, s.contains("enum") ? "enum" : "const", {"enum", "const", "type", "nullable"});
    const std::vector<std::string> types = s.contains("type") ? type_names(s, path) : std::vector<std::string>{};
    std::vector<const Json*> values;
    if (s.contains("const")) values.push_back(&s["const"]);
    if (s.contains("enum")) {
      if (!s["enum"].is_array()) error(child(path, "enum"), "'enum' must be an array");
      for (const auto& v : s["enum"]) values.push_back(&v);
    }
    std::vector<std::string> words;
    for (const Json* v : values) {
      if (s.contains("const") && s.contains("enum") && *v != s["const"]) continue;
      if (!types.empty() && !value_has_type(*v, types)) continue;
      try {
        words.push_back(v->dump());
      } catch (const nlohmann::json::exception&) {
        error(path, "enum value is not valid UTF-8");
      }
    }
    if (s.value("nullable", false)) words.push_back("null");
    return ir_literals(words);
  }

  std::vector<std::string> type_names(const Json& s, const std::string& path) {
    std::vector<std::string> types;
    if (s.contains("type")) {
      const Json& t = s["type"];
      for (const Json& one : t.is_array() ? t : Json::array({t})) {
        if (!one.is_string()) error(child(path, "type"), "'type' must be a string or an array of strings");
        const std::string name = one.get<std::string>();
        static const std::set<std::string> kTypes = {"null", "boolean", "integer", "number", "string", "array", "object"};
        if (!kTypes.count(name)) error(child(path, "type"), "unknown type '{}'", name);
        types.push_back(name);
      }
      if (types.empty()) error(child(path, "type"), "'type' is an empty list");
      return types;
    }
    // No type: only the kinds the keywords talk about are produced (a subset of what the schema allows).
    auto any_of = [&](std::initializer_list<const char*> kws) {
      for (const char* k : kws) {
        if (s.contains(k)) return true;
      }
      return false;
    };
    if (any_of({"properties", "required", "additionalProperties", "unevaluatedProperties"})) types.push_back("object");
    if (any_of({"items", "prefixItems", "additionalItems", "minItems", "maxItems"})) types.push_back("array");
    if (any_of({"minLength", "maxLength", "pattern", "format"})) types.push_back("string");
    if (any_of({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})) types.push_back("number");
    return types;
  }

  ExprPtr of_type(const std::string& t, const Json& s, const std::string& path, int level) {
    if (t == "null") return ir_literal("null");
    if (t == "boolean") return ir_literals({"true", "false"});
    if (t == "integer" || t == "number") return number(t == "integer", s, path);
    if (t == "string") return string(s, path);
    if (t == "array") return array(s, path, level);
    return object(s, path, level);
  }

  int count(const Json& s, const char* kw, const std::string& path) {
    const Json& v = s[kw];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() != std::floor(v.get<double>())) {
      error(child(path, kw), "'{}' must be a non-negative integer", kw);
    }
    if (v.get<double>() > 100000) error(child(path, kw), "'{}' too large to enforce", kw);
    return v.get<int>();
  }

  ExprPtr number(bool integer, const Json& s, const std::string& path) {
    std::optional<NumBound> lo, hi;
    auto bound = [&](const char* kw, const char* excl, std::optional<NumBound>& out, bool lower) {
      auto tighter = [&](NumBound b) {
        if (!out || (lower ? b.value > out->value : b.value < out->value) ||
            (b.value == out->value && b.exclusive)) {
          out = b;
        }
      };
      if (s.contains(kw)) {
        if (!s[kw].is_number()) error(child(path, kw), "'{}' must be a number", kw);
        const bool old_style = s.contains(excl) && s[excl].is_boolean() && s[excl].get<bool>();
        tighter({s[kw].get<double>(), old_style});
      }
      if (s.contains(excl) && !s[excl].is_boolean()) {
        if (!s[excl].is_number()) error(child(path, excl), "'{}' must be a number", excl);
        tighter({s[excl].get<double>(), true});
      }
    };
    bound("minimum", "exclusiveMinimum", lo, true);
    bound("maximum", "exclusiveMaximum", hi, false);
    if (!lo && !hi) return integer ? json_integer() : json_number();
    const std::string ctx = "[schema] " + show(path);
    return integer ? json_integer_range(lo, hi, ctx) : json_number_range(lo, hi, ctx);
  }

  ExprPtr string(const Json& s, const std::string& path) {
    // The string body (between the quotes) is the intersection of what each keyword allows.
    std::vector<ExprPtr> bodies;
    if (s.contains("format")) {
      if (!s["format"].is_string()) error(child(path, "format"), "'format' must be a string");
      bodies.push_back(json_format_body(s["format"].get<std::string>(), "[schema] " + show(child(path, "format"))));
    }
    if (s.contains("pattern")) {
      const std::string p = child(path, "pattern");
      if (!s["pattern"].is_string()) error(p, "'pattern' must be a string");
      bodies.push_back(compile_pattern(s["pattern"].get<std::string>(), true, CharEncoding::json, "[schema] " + show(p)));
    }
    if (s.contains("minLength") || s.contains("maxLength") || bodies.empty()) {
      const int lo = s.contains("minLength") ? count(s, "minLength", path) : 0;
      const int hi = s.contains("maxLength") ? count(s, "maxLength", path) : -1;
      bodies.push_back(ir_repeat(ir_json_char(CodepointSet::all()), lo, hi));
    }
    ExprPtr body = bodies[0];
    for (size_t i = 1; i < bodies.size(); ++i) body = ir_intersect(body, bodies[i]);
    return ir_seq({ir_byte('"'), body, ir_byte('"')});
  }

  ExprPtr array(const Json& s, const std::string& path, int level) {
    const int lo = s.contains("minItems") ? count(s, "minItems", path) : 0;
    const int hi = s.contains("maxItems") ? count(s, "maxItems", path) : -1;
    std::vector<ExprPtr> prefix;  // tuple positions
    ExprPtr rest;
    const Json* tuple = s.contains("prefixItems") ? &s["prefixItems"]
                        : s.contains("items") && s["items"].is_array() ? &s["items"] : nullptr;
    if (tuple) {
      const std::string p = child(path, s.contains("prefixItems") ? "prefixItems" : "items");
      if (!tuple->is_array()) error(p, "must be an array of schemas");
      for (size_t i = 0; i < tuple->size(); ++i) prefix.push_back(compile((*tuple)[i], child(p, std::to_string(i)), level + 1));
      const char* rest_kw = s.contains("prefixItems") ? "items" : "additionalItems";
      rest = s.contains(rest_kw) ? compile(s[rest_kw], child(path, rest_kw), level + 1) : any(level + 1);
    } else {
      rest = s.contains("items") ? compile(s["items"], child(path, "items"), level + 1) : any(level + 1);
    }
    const ExprPtr sep = ir_seq({ws(), ir_byte(','), ws()});
    ExprPtr body;
    if (prefix.empty()) {
      body = ir_list(rest, sep, lo, hi);
    } else {
      // After j items: stop (j >= lo), or (j < hi) a separator and item j + 1; past the tuple, `rest`.
      const int k = int(prefix.size());
      ExprPtr tail;
      {
        const int more_lo = std::max(lo - k, 0);
        const int more_hi = hi < 0 ? -1 : std::max(hi - k, 0);
        tail = ir_repeat(ir_seq({sep, rest}), more_lo, more_hi);
        if (hi >= 0 && k > hi) tail = ir_fail();
      }
      for (int j = k - 1; j >= 1; --j) {  // tail(j): after j items
        std::vector<ExprPtr> alts;
        if (j >= lo) alts.push_back(ir_empty());
        if (hi < 0 || j < hi) alts.push_back(ir_seq({sep, prefix[size_t(j)], tail}));
        tail = ir_alt(std::move(alts));
      }
      std::vector<ExprPtr> alts;
      if (lo == 0) alts.push_back(ir_empty());
      if (hi != 0) alts.push_back(ir_seq({prefix[0], tail}));
      body = ir_alt(std::move(alts));
    }
    return ir_seq({ir_byte('['), ws(), body, ws(), ir_byte(']')});
  }

  ExprPtr object(const Json& s, const std::string& path, int level) {
    std::vector<std::pair<std::string, const Json*>> props;
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) error(child(path, "properties"), "'properties' must be an object");
      for (const auto& [k, v] : s["properties"].items()) props.emplace_back(k, &v);
    }
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) error(child(path, "required"), "'required' must be an array of strings");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) error(child(path, "required"), "'required' must be an array of strings");
        required.insert(r.get<std::string>());
      }
    }
    const Json* extra = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
    if (extra && !extra->is_boolean() && !extra->is_object()) error(child(path, "additionalProperties"), "must be a schema");
    static const Json kTrue = true;
    for (const auto& r : required) {
      if (std::none_of(props.begin(), props.end(), [&](const auto& p) { return p.first == r; })) {
        if (extra && *extra == false) error(child(path, "required"), "required property '{}' is not allowed (unsatisfiable)", r);
        props.emplace_back(r, extra && extra->is_object() ? extra : &kTrue);
      }
    }
    const ExprPtr sep = ir_seq({ws(), ir_byte(','), ws()});
    ExprPtr body;
    if (props.empty()) {
      if (extra && *extra == false) {
        body = ir_empty();
      } else if (extra && extra->is_object()) {  // a map: any keys, values per the schema
        const ExprPtr value = compile(*extra, child(path, "additionalProperties"), level + 1);
        body = ir_list(ir_seq({json_string(0, -1), ws(), ir_byte(':'), ws(), value}), sep, 0, -1);
      } else {
        return json_any_object(std::max(opt_.max_depth - level, 1), opt_.max_ws);
      }
    } else {
      std::vector<ExprPtr> items;
      std::vector<uint8_t> req;
      for (const auto& [name, schema] : props) {
        const ExprPtr value = compile(*schema, child(child(path, "properties"), name), level + 1);
        items.push_back(ir_seq({ir_literal(json_quote(name)), ws(), ir_byte(':'), ws(), value}));
        req.push_back(required.count(name) ? 1 : 0);
      }
      body = ir_members(std::move(items), std::move(req), sep);
    }
    return ir_seq({ir_byte('{'), ws(), body, ws(), ir_byte('}')});
  }

  const Json& root_;
  const CompileOptions& opt_;
  std::map<std::string, int> active_;
  int nesting_ = 0;
};

}  // namespace

Grammar compile_json_schema(const nlohmann::ordered_json& schema, const CompileOptions& opt) {
  SchemaCompiler c(schema, opt);
  ExprPtr e;
  try {
    e = c.compile(schema, "", 0);
  } catch (const nlohmann::json::exception& ex) {  // a keyword of the wrong JSON type somewhere
    fail("[schema] malformed schema: {}", ex.what());
  }
  // Leading whitespace (as JSON allows) lets a SentencePiece model start with its "▁{" token.
  Grammar g = make_grammar(ir_seq({json_ws(opt.max_ws), e}), opt.max_states);
  if (!g.nfa->live[g.nfa->start]) fail("[schema] no JSON value satisfies the schema (unsatisfiable)");
  return g;
}

Grammar compile_json_schema_text(std::string_view schema_text, const CompileOptions& opt) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(schema_text);
  } catch (const nlohmann::json::exception& e) {
    fail("[schema] invalid JSON: {}", e.what());
  }
  return compile_json_schema(j, opt);
}

}  // namespace slm::constrained
