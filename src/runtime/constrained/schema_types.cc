// $ref resolution, instance type checks and the oneOf exclusivity proof.
#include "runtime/constrained/schema_types.h"

#include <cmath>

#include "core/error.h"

namespace slm::constrained {
namespace {

using Json = nlohmann::ordered_json;

enum : uint8_t { kNull = 1, kBool = 2, kNumber = 4, kString = 8, kArray = 16, kObject = 32, kAll = 63 };

uint8_t bit_of_value(const Json& v) {
  if (v.is_null()) return kNull;
  if (v.is_boolean()) return kBool;
  if (v.is_number()) return kNumber;
  if (v.is_string()) return kString;
  if (v.is_array()) return kArray;
  return kObject;
}

uint8_t bit_of_type(const std::string& t) {
  if (t == "null") return kNull;
  if (t == "boolean") return kBool;
  if (t == "integer" || t == "number") return kNumber;
  if (t == "string") return kString;
  if (t == "array") return kArray;
  if (t == "object") return kObject;
  return kAll;
}

const Json& deref(const Json& root, const Json& s, int guard = 0) {
  if (guard < 32 && s.is_object() && s.contains("$ref") && s["$ref"].is_string()) {
    if (const Json* t = resolve_ref(root, s["$ref"].get<std::string>())) return deref(root, *t, guard + 1);
  }
  return s;
}

// Types of the values a schema accepts (over-approximated: kAll when unsure).
uint8_t accepted(const Json& root, const Json& s0, int guard = 0) {
  const Json& s = deref(root, s0);
  if (guard > 32) return kAll;
  if (s.is_boolean()) return s.get<bool>() ? kAll : 0;
  if (!s.is_object()) return kAll;
  uint8_t bits = kAll;
  if (s.contains("type")) {
    uint8_t t = 0;
    const Json& ty = s["type"];
    for (const Json& one : ty.is_array() ? ty : Json::array({ty})) t |= one.is_string() ? bit_of_type(one.get<std::string>()) : uint8_t(kAll);
    if (s.value("nullable", false)) t |= kNull;
    bits &= t;
  }
  if (s.contains("const")) bits &= bit_of_value(s["const"]);
  if (s.contains("enum") && s["enum"].is_array()) {
    uint8_t t = 0;
    for (const Json& v : s["enum"]) t |= bit_of_value(v);
    bits &= t;
  }
  for (const char* kw : {"anyOf", "oneOf"}) {
    if (s.contains(kw) && s[kw].is_array()) {
      uint8_t t = 0;
      for (const Json& b : s[kw]) t |= accepted(root, b, guard + 1);
      bits &= t;
    }
  }
  if (s.contains("allOf") && s["allOf"].is_array()) {
    for (const Json& b : s["allOf"]) bits &= accepted(root, b, guard + 1);
  }
  return bits;
}

// The values a schema allows for property `name` when it pins them with const/enum; empty otherwise.
std::vector<Json> pinned(const Json& root, const Json& s, const std::string& name) {
  if (!s.contains("properties") || !s["properties"].is_object() || !s["properties"].contains(name)) return {};
  const Json& p = deref(root, s["properties"][name]);
  if (!p.is_object()) return {};
  if (p.contains("const")) return {p["const"]};
  if (p.contains("enum") && p["enum"].is_array()) return std::vector<Json>(p["enum"].begin(), p["enum"].end());
  return {};
}

bool has_required(const Json& s, const std::string& name) {
  if (!s.contains("required") || !s["required"].is_array()) return false;
  for (const Json& r : s["required"]) {
    if (r == name) return true;
  }
  return false;
}

bool discriminated(const Json& root, const Json& a0, const Json& b0) {
  const Json& a = deref(root, a0);
  const Json& b = deref(root, b0);
  if (!a.is_object() || !b.is_object() || accepted(root, a) != kObject || accepted(root, b) != kObject) return false;
  if (!a.contains("required") || !a["required"].is_array()) return false;
  for (const Json& r : a["required"]) {
    if (!r.is_string() || !has_required(b, r.get<std::string>())) continue;
    const auto va = pinned(root, a, r.get<std::string>()), vb = pinned(root, b, r.get<std::string>());
    if (va.empty() || vb.empty()) continue;
    bool overlap = false;
    for (const Json& x : va) {
      for (const Json& y : vb) overlap |= x == y;
    }
    if (!overlap) return true;
  }
  return false;
}

// Both schemas pin their values with const/enum and no value is in both.
bool values_apart(const Json& root, const Json& a0, const Json& b0) {
  auto values = [&](const Json& s0) -> std::vector<Json> {
    const Json& s = deref(root, s0);
    if (!s.is_object()) return {};
    if (s.contains("const")) return {s["const"]};
    if (s.contains("enum") && s["enum"].is_array()) return std::vector<Json>(s["enum"].begin(), s["enum"].end());
    return {};
  };
  const auto va = values(a0), vb = values(b0);
  if (va.empty() || vb.empty()) return false;
  for (const Json& x : va) {
    for (const Json& y : vb) {
      if (x == y) return false;
    }
  }
  return true;
}

}  // namespace

const Json* resolve_ref(const Json& root, const std::string& ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  if (ref == "#") return &root;
  try {
    const Json::json_pointer ptr(ref.substr(1));
    if (!root.contains(ptr)) return nullptr;
    return &root.at(ptr);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

bool value_has_type(const Json& v, const std::vector<std::string>& types) {
  for (const auto& t : types) {
    if (t == "integer") {
      if (v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) return true;
    } else if (bit_of_type(t) == bit_of_value(v)) {
      return true;
    }
  }
  return false;
}

void check_exclusive(const Json& root, const Json& branches, const std::string& path) {
  for (size_t i = 0; i < branches.size(); ++i) {
    for (size_t j = i + 1; j < branches.size(); ++j) {
      const bool types_apart = (accepted(root, branches[i]) & accepted(root, branches[j])) == 0;
      if (types_apart || values_apart(root, branches[i], branches[j]) || discriminated(root, branches[i], branches[j])) {
        continue;
      }
      fail("[schema] unsupported keyword 'oneOf' (branches {} and {} may accept the same value; use anyOf) at {}",
           i, j, path);
    }
  }
}

}  // namespace slm::constrained
