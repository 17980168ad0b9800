// Token-level constraints end to end: random walks over allowed tokens (a small made-up vocabulary with
// multi-byte tokens, and the real Llama 3 vocabulary) always give JSON that validates against the schema;
// every valid document can be produced token by token; choice yields exactly one of its strings.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/testdata.h"
#include "core/error.h"
#include "core/rng.h"
#include "runtime/constrained/compile.h"
#include "runtime/constrained/pattern.h"

namespace slm::constrained {
namespace {

using Json = nlohmann::ordered_json;

// ---- A small validator for the supported subset (independent of the compiler) ----

const Json* ref_target(const Json& root, const std::string& r) {
  if (r == "#") return &root;
  const Json::json_pointer p(r.substr(1));
  return root.contains(p) ? &root.at(p) : nullptr;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool valid_format(const std::string& f, const std::string& s) {
  static const std::regex date(R"((\d{4})-(\d{2})-(\d{2}))");
  static const std::regex time(R"(([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))");
  auto ok_date = [&](const std::string& d) {
    std::smatch m;
    if (!std::regex_match(d, m, date)) return false;
    const int y = std::stoi(m[1]), mo = std::stoi(m[2]), day = std::stoi(m[3]);
    const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mo >= 1 && mo <= 12 && day >= 1 && day <= mdays[mo - 1] + (mo == 2 && leap(y));
  };
  if (f == "date") return ok_date(s);
  if (f == "time") return std::regex_match(s, time);
  if (f == "date-time") return s.size() > 11 && (s[10] == 'T' || s[10] == 't') && ok_date(s.substr(0, 10)) &&
                               std::regex_match(s.substr(11), time);
  if (f == "uuid") return std::regex_match(s, std::regex("[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"));
  return false;
}

bool validate(const Json& v, const Json& s, const Json& root);

bool validate_object(const Json& v, const Json& s, const Json& root) {
  const Json props = s.value("properties", Json::object());
  for (const auto& r : s.value("required", Json::array())) {
    if (!v.contains(r.get<std::string>())) return false;
  }
  for (const auto& [k, x] : v.items()) {
    if (props.contains(k)) {
      if (!validate(x, props[k], root)) return false;
    } else if (s.contains("additionalProperties")) {
      if (!validate(x, s["additionalProperties"], root)) return false;
    }
  }
  return true;
}

bool validate_array(const Json& v, const Json& s, const Json& root) {
  if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return false;
  if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return false;
  const Json tuple = s.value("prefixItems", Json::array());
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& item = i < tuple.size() ? tuple[i] : s.value("items", Json(true));
    if (!validate(v[i], item, root)) return false;
  }
  return true;
}

bool validate_scalar(const Json& v, const Json& s) {
  if (v.is_string()) {
    const std::u32string cps = decode_utf8(v.get<std::string>(), "[test]");
    if (s.contains("minLength") && cps.size() < s["minLength"].get<size_t>()) return false;
    if (s.contains("maxLength") && cps.size() > s["maxLength"].get<size_t>()) return false;
    if (s.contains("pattern")) {
      const std::wstring w(cps.begin(), cps.end());
      if (!std::regex_search(w, std::wregex(decode_utf8(s["pattern"].get<std::string>(), "") | [](auto&&) { return 0; }, std::wregex::ECMAScript)))
        return false;
    }
    if (s.contains("format") && !valid_format(s["format"], v.get<std::string>())) return false;
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (s.contains("minimum") && x < s["minimum"].get<double>()) return false;
    if (s.contains("maximum") && x > s["maximum"].get<double>()) return false;
    if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>()) return false;
    if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>()) return false;
  }
  return true;
}

bool has_type(const Json& v, const std::string& t) {
  if (t == "integer") return v.is_number_integer() || (v.is_number_float() && v.get<double>() == std::floor(v.get<double>()));
  if (t == "number") return v.is_number();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "array") return v.is_array();
  return v.is_object();
}

bool validate(const Json& v, const Json& s, const Json& root) {
  if (s.is_boolean()) return s.get<bool>();
  if (s.contains("$ref")) return validate(v, *ref_target(root, s["$ref"]), root);
  if (s.contains("allOf")) {
    for (const auto& b : s["allOf"]) if (!validate(v, b, root)) return false;
  }
  if (s.contains("anyOf") && std::none_of(s["anyOf"].begin(), s["anyOf"].end(), [&](const Json& b) { return validate(v, b, root); }))
    return false;
  if (s.contains("oneOf") && std::count_if(s["oneOf"].begin(), s["oneOf"].end(), [&](const Json& b) { return validate(v, b, root); }) != 1)
    return false;
  if (s.contains("const") && v != s["const"]) return false;
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) return false;
  if (s.contains("type")) {
    const Json types = s["type"].is_array() ? s["type"] : Json::array({s["type"]});
    const bool null_ok = s.value("nullable", false) && v.is_null();
    if (!null_ok && std::none_of(types.begin(), types.end(), [&](const Json& t) { return has_type(v, t); })) return false;
  }
  if (v.is_object()) return validate_object(v, s, root);
  if (v.is_array()) return validate_array(v, s, root);
  return validate_scalar(v, s);
}

}  // namespace
}  // namespace slm::constrained
