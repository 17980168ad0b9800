// Schema facts the compiler needs beyond the grammar: $ref resolution, value/type checks, and the proof
// that oneOf branches exclude each other (so that a value produced by one branch fails every other).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace slm::constrained {

// The schema a local reference ("#", "#/$defs/x", any "#/json/pointer") names; null when not found or
// not local.
const nlohmann::ordered_json* resolve_ref(const nlohmann::ordered_json& root, const std::string& ref);
// Whether `v` is an instance of one of the JSON Schema type names.
bool value_has_type(const nlohmann::ordered_json& v, const std::vector<std::string>& types);
// Throws slm::Error("[schema] oneOf ... at <path>") unless every two branches provably accept no common
// value: their accepted types are disjoint, or both are object-only with a required property whose
// const/enum values are disjoint.
void check_exclusive(const nlohmann::ordered_json& root, const nlohmann::ordered_json& branches,
                     const std::string& path);

}  // namespace slm::constrained
