// Writes the JSON Schema fuzz seeds: schemas using each supported keyword, some followed by a NUL byte and
// an output the schema accepts.
#include "text_seeds.h"

using namespace std::string_view_literals;

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 8},
        "age": {"type": "integer", "minimum": 0, "maximum": 150}}, "required": ["name"],
        "additionalProperties": false})" "\0" R"({"name": "Ann", "age": 41})"sv,
    R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "number"},
        "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}, "required": ["v", "next"]}},
        "$ref": "#/$defs/node"})" "\0" R"({"v": 1.5, "next": null})"sv,
    R"({"type": "array", "prefixItems": [{"const": "a"}, {"enum": [1, true, null]}], "items": {"type": "boolean"},
        "minItems": 2, "maxItems": 4})" "\0" R"(["a", 1, false])"sv,
    R"({"type": "string", "pattern": "^[A-Z]{2}-\\d{3,5}(x|y)?$"})" "\0" R"("AB-1234")"sv,
    R"({"type": "string", "format": "date-time"})",
    R"({"oneOf": [{"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "number",
        "exclusiveMinimum": 0}}, "required": ["kind"]}, {"type": "object", "properties": {"kind": {"const": "b"}},
        "required": ["kind"]}]})",
    R"({"type": ["string", "null"], "minLength": 1, "nullable": true})",
    R"({"allOf": [{"type": "object", "properties": {"ip": {"type": "string", "format": "ipv4"},
        "id": {"type": "string", "format": "uuid"}}, "unevaluatedProperties": false}]})",
    R"({})",
  });
}
