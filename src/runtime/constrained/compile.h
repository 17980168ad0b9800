// Compiling what the output must be into a Grammar: a JSON Schema (response_format json_schema), any
// JSON object (json_object), one of a list of strings (choice) or a regular expression.
//
// JSON Schema support (anything else throws slm::Error "[schema] ... at <json pointer>", a 400):
//   type (one or a list), enum, const, anyOf, oneOf (branches that provably exclude each other: different
//   types, or a required property with disjoint const/enum values), allOf (one branch), $ref to "#",
//   "#/$defs/..", "#/definitions/.." or any JSON pointer in the document ($defs/definitions), recursion
//   unrolled max_recursion times, nullable (OpenAPI);
//   objects: properties (emitted in schema order), required, additionalProperties (false/true: only the
//   declared properties are produced; a schema with no properties: a map), unevaluatedProperties false;
//   arrays: items, prefixItems, items as a list + additionalItems, minItems, maxItems, uniqueItems false;
//   strings: minLength, maxLength, pattern, format date/time/date-time/uuid/ipv4 (any combination: the
//   automata are intersected); numbers: minimum, maximum, exclusiveMinimum, exclusiveMaximum (integral bounds for
//   "number"; any for "integer"); annotations (title, description, default, examples, $comment, ...).
// Output policy: 0..max_ws of " \t\n\r" before the value and wherever JSON allows whitespace inside it,
// none after it; strings use raw UTF-8 and the short escapes, \u00XX only for control characters;
// integers without fraction or exponent; at most 19 integer digits and 2 exponent digits (every number
// fits a double); bounded numbers without exponent; enum/const values in compact form.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/constrained/constraint.h"

namespace slm::constrained {

struct CompileOptions {
  int max_ws = 1;               // whitespace characters allowed at each place JSON allows whitespace
  int max_depth = 5;            // nesting of free-form values (json_object, {} and untyped schemas)
  int max_recursion = 3;        // expansions of one $ref inside itself
  size_t max_states = 4'000'000;  // automaton size limit (bigger schemas throw)
};

Grammar compile_json_schema(const nlohmann::ordered_json& schema, const CompileOptions& opt = {});
// Parses `schema_text` (keeping property order); throws slm::Error on invalid JSON.
Grammar compile_json_schema_text(std::string_view schema_text, const CompileOptions& opt = {});
Grammar compile_json_object(const CompileOptions& opt = {});
Grammar compile_json_value(const CompileOptions& opt = {});
// The output is exactly one of `choices` (raw text, no quotes). Throws "[choice] ..." when the list is
// empty, has an empty string or a string longer than 16 KiB.
Grammar compile_choice(const std::vector<std::string>& choices, const CompileOptions& opt = {});
// The whole output matches `pattern` (the regex subset in pattern.h). Throws "[regex] ...".
Grammar compile_regex(std::string_view pattern, const CompileOptions& opt = {});

}  // namespace slm::constrained
