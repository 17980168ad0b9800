// JSON Schema compilation: which documents each compiled schema accepts (numbers against exact range
// arithmetic, formats against a calendar), and the errors for what cannot be enforced.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <regex>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "runtime/constrained/compile.h"

namespace slm::constrained {
namespace {

Grammar schema(const std::string& text, CompileOptions opt = {}) { return compile_json_schema_text(text, opt); }

std::string error_of(const std::string& text) {
  try {
    schema(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConstrainedSchema, IntegerRangesMatchArithmetic) {
  struct Case {
    std::string bounds;
    std::optional<double> lo, hi;
    bool lo_ex, hi_ex;
  };
  const Case cases[] = {
      {R"("minimum": 0, "maximum": 100)", 0, 100, false, false},
      {R"("minimum": -37, "maximum": 12)", -37, 12, false, false},
      {R"("exclusiveMinimum": -5, "exclusiveMaximum": 99)", -5, 99, true, true},
      {R"("minimum": 7)", 7, std::nullopt, false, false},
      {R"("maximum": -13)", std::nullopt, -13, false, false},
      {R"("minimum": 1.5, "maximum": 9.5)", 1.5, 9.5, false, false},
      {R"("minimum": 5, "exclusiveMinimum": true, "maximum": 120)", 5, 120, true, false},  // draft 4
      {R"("minimum": 0, "maximum": 0)", 0, 0, false, false},
  };
  for (const Case& c : cases) {
    const Grammar g = schema(R"({"type": "integer", )" + c.bounds + "}");
    for (int n = -150; n <= 150; ++n) {
      bool want = true;
      if (c.lo) want &= c.lo_ex ? n > *c.lo : n >= *c.lo;
      if (c.hi) want &= c.hi_ex ? n < *c.hi : n <= *c.hi;
      EXPECT_EQ(grammar_matches(g, std::to_string(n)), want) << c.bounds << " n=" << n;
    }
    EXPECT_FALSE(grammar_matches(g, "007")) << c.bounds;
    EXPECT_FALSE(grammar_matches(g, "1.0")) << c.bounds;
    EXPECT_FALSE(grammar_matches(g, "+1")) << c.bounds;
  }
  EXPECT_TRUE(grammar_matches(schema(R"({"type":"integer","minimum":1000000})"), "123456789012"));
  EXPECT_FALSE(grammar_matches(schema(R"({"type":"integer","minimum":1000000})"), "999999"));
}

TEST(ConstrainedSchema, NumberRangesMatchArithmetic) {
  Rng rng(5);
  const std::string specs[] = {R"("minimum": 0, "maximum": 1)", R"("exclusiveMinimum": 0, "exclusiveMaximum": 10)",
                               R"("minimum": -3, "exclusiveMaximum": 2)", R"("exclusiveMinimum": -1)",
                               R"("maximum": -2)"};
  for (const std::string& spec : specs) {
    const auto j = nlohmann::json::parse("{" + spec + "}");
    const Grammar g = schema(R"({"type": "number", )" + spec + "}");
    for (int i = 0; i < 3000; ++i) {
      // Random decimals like -12.0, 3, 0.50, 9.999
      std::string s = rng.below(3) == 0 ? "-" : "";
      s += std::to_string(rng.below(14));
      if (rng.below(2)) {
        s += ".";
        const int nd = 1 + int(rng.below(3));
        for (int k = 0; k < nd; ++k) s += char('0' + (rng.below(3) == 0 ? 0 : rng.below(10)));
      }
      const double v = std::stod(s);
      bool want = true;
      if (j.contains("minimum")) want &= v >= j["minimum"].get<double>();
      if (j.contains("maximum")) want &= v <= j["maximum"].get<double>();
      if (j.contains("exclusiveMinimum")) want &= v > j["exclusiveMinimum"].get<double>();
      if (j.contains("exclusiveMaximum")) want &= v < j["exclusiveMaximum"].get<double>();
      EXPECT_EQ(grammar_matches(g, s), want) << spec << " " << s;
    }
  }
  const Grammar any = schema(R"({"type": "number"})");
  for (const char* ok : {"0", "-0", "1.5", "-2e10", "3E+2", "4.25e-3"}) EXPECT_TRUE(grammar_matches(any, ok)) << ok;
  for (const char* bad : {"01", "1.", ".5", "1e", "--1", "+1", "NaN"}) EXPECT_FALSE(grammar_matches(any, bad)) << bad;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

TEST(ConstrainedSchema, DateFormatFollowsTheCalendar) {
  const Grammar g = schema(R"({"type": "string", "format": "date"})");
  const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int y : {1900, 1996, 2000, 2023, 2024, 2100, 2400}) {
    for (int m = 0; m <= 13; ++m) {
      for (int d = 0; d <= 32; ++d) {
        const bool want = m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && leap(y));
        const std::string s = fmt::format("\"{:04d}-{:02d}-{:02d}\"", y, m, d);
        EXPECT_EQ(grammar_matches(g, s), want) << s;
      }
    }
  }
  const Grammar dt = schema(R"({"type": "string", "format": "date-time"})");
  EXPECT_TRUE(grammar_matches(dt, "\"2024-02-29T23:59:60.123+05:30\""));
  EXPECT_TRUE(grammar_matches(dt, "\"2023-01-01t00:00:00z\""));
  EXPECT_FALSE(grammar_matches(dt, "\"2023-01-01T24:00:00Z\""));
  EXPECT_FALSE(grammar_matches(dt, "\"2023-01-01T10:00:00\""));  // the offset is required
  const Grammar uuid = schema(R"({"type": "string", "format": "uuid"})");
  EXPECT_TRUE(grammar_matches(uuid, "\"123e4567-e89b-12d3-a456-426614174000\""));
  EXPECT_FALSE(grammar_matches(uuid, "\"123e4567e89b12d3a456426614174000\""));
  const Grammar ip = schema(R"({"type": "string", "format": "ipv4"})");
  EXPECT_TRUE(grammar_matches(ip, "\"255.0.10.199\""));
  EXPECT_FALSE(grammar_matches(ip, "\"256.0.0.1\""));
  EXPECT_FALSE(grammar_matches(ip, "\"01.2.3.4\""));
}

TEST(ConstrainedSchema, PatternFormatAndLengthIntersect) {
  Rng rng(8);
  const Grammar g = schema(R"({"type": "string", "pattern": "a[bc]*", "minLength": 2, "maxLength": 4})");
  const std::regex re("a[bc]*");
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const size_t n = rng.below(7);
    for (size_t k = 0; k < n; ++k) s += "abcx\\\n"[rng.below(6)];  // a b c x backslash newline
    const bool want = std::regex_search(s, re) && s.size() >= 2 && s.size() <= 4;
    std::string quoted = "\"";
    for (char c : s) quoted += c == '\\' ? std::string("\\\\") : c == '\n' ? std::string("\\n") : std::string(1, c);
    EXPECT_EQ(grammar_matches(g, quoted + "\""), want) << quoted;
  }
  const Grammar d = schema(R"({"type": "string", "format": "date", "pattern": "^2024-", "maxLength": 10})");
  EXPECT_TRUE(grammar_matches(d, "\"2024-02-29\""));
  EXPECT_FALSE(grammar_matches(d, "\"2023-02-28\""));
  EXPECT_NE(error_of(R"({"type": "string", "format": "date", "maxLength": 9})").find("unsatisfiable"), std::string::npos);
}

TEST(ConstrainedSchema, ObjectsFollowSchemaOrderAndRequiredness) {
  const Grammar g = schema(R"({"type": "object", "properties": {
      "id": {"type": "integer"}, "name": {"type": "string", "maxLength": 3},
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}},
      "required": ["id", "tags"], "additionalProperties": false})");
  for (const char* ok : {R"({"id":1,"tags":[]})", R"({"id": 1, "name": "abc", "tags": ["a", "b"]})",
                         R"({ "id":-5,"tags":["b"] })", R"({"id":0,"name":"","tags":[]})"}) {
    EXPECT_TRUE(grammar_matches(g, ok)) << ok;
  }
  for (const char* bad : {R"({"tags":[],"id":1})", R"({"id":1})", R"({"id":1,"name":"abcd","tags":[]})",
                          R"({"id":1,"tags":["a","b","a"]})", R"({"id":1,"tags":[],"x":1})", R"({"id":1,,"tags":[]})",
                          R"({"id":1,"tags":["c"]})", R"({"id":1,  "tags":[]})", R"(  {"id":1,"tags":[]})", R"({"id":1,"tags":[]} )"}) {
    EXPECT_FALSE(grammar_matches(g, bad)) << bad;
  }
  // All optional: every subset in order, with commas only between present members.
  const Grammar opt = schema(R"({"properties": {"a": {"const": 1}, "b": {"const": 2}, "c": {"const": 3}}})");
  for (const char* ok : {"{}", R"({"a":1})", R"({"b":2})", R"({"a":1,"c":3})", R"({"a":1,"b":2,"c":3})"}) {
    EXPECT_TRUE(grammar_matches(opt, ok)) << ok;
  }
  for (const char* bad : {R"({,"b":2})", R"({"a":1,})", R"({"b":2,"a":1})", R"({"a":1"b":2})"}) {
    EXPECT_FALSE(grammar_matches(opt, bad)) << bad;
  }
}

TEST(ConstrainedSchema, ArraysTuplesAndCounts) {
  const Grammar t = schema(R"({"prefixItems": [{"type": "string"}, {"type": "boolean"}], "items": {"type": "null"},
                              "minItems": 1, "maxItems": 4})");
  for (const char* ok : {R"(["x"])", R"(["x",true])", R"(["x",false,null,null])"}) EXPECT_TRUE(grammar_matches(t, ok)) << ok;
  for (const char* bad : {"[]", R"([true])", R"(["x",true,null,null,null])", R"(["x",true,1])"}) {
    EXPECT_FALSE(grammar_matches(t, bad)) << bad;
  }
  const Grammar n = schema(R"({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3})");
  EXPECT_FALSE(grammar_matches(n, "[1]"));
  EXPECT_TRUE(grammar_matches(n, "[1, 2]"));
  EXPECT_TRUE(grammar_matches(n, "[1,2,3]"));
  EXPECT_FALSE(grammar_matches(n, "[1,2,3,4]"));
}

TEST(ConstrainedSchema, RefsDefsAndRecursion) {
  const std::string tree = R"({"$defs": {"node": {"type": "object", "properties": {
      "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}},
      "$ref": "#/$defs/node"})";
  CompileOptions opt;
  opt.max_recursion = 3;
  const Grammar g = schema(tree, opt);
  EXPECT_TRUE(grammar_matches(g, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4}]}]})"));
  EXPECT_TRUE(grammar_matches(g, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3,"kids":[]}]}]})"));
  // Four levels of nodes: past the unrolling, "kids" can only be absent or empty.
  EXPECT_FALSE(grammar_matches(g, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3,"kids":[{"v":4}]}]}]})"));
  EXPECT_TRUE(grammar_matches(schema(R"({"definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s"}}})"),
                              R"({"a":"x"})"));
  // A schema that needs infinite recursion has no finite instance.
  EXPECT_NE(error_of(R"({"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"]})").find("unsatisfiable"),
            std::string::npos);
}

TEST(ConstrainedSchema, CombinatorsEnumsAndConst) {
  const Grammar any = schema(R"({"anyOf": [{"type": "string", "maxLength": 1}, {"type": "null"}]})");
  EXPECT_TRUE(grammar_matches(any, "null"));
  EXPECT_TRUE(grammar_matches(any, "\"a\""));
  EXPECT_FALSE(grammar_matches(any, "\"ab\""));
  const Grammar one = schema(R"({"oneOf": [{"type": "object", "properties": {"k": {"const": "a"}, "x": {"type": "integer"}}, "required": ["k"]},
                                          {"type": "object", "properties": {"k": {"const": "b"}}, "required": ["k"]}]})");
  EXPECT_TRUE(grammar_matches(one, R"({"k":"a","x":1})"));
  EXPECT_TRUE(grammar_matches(one, R"({"k":"b"})"));
  EXPECT_FALSE(grammar_matches(one, R"({"k":"c"})"));
  const Grammar e = schema(R"({"type": "string", "enum": ["red", "green", 3, "r\"q"]})");
  EXPECT_TRUE(grammar_matches(e, "\"green\""));
  EXPECT_TRUE(grammar_matches(e, R"("r\"q")"));
  EXPECT_FALSE(grammar_matches(e, "3"));  // not a string: filtered out by "type"
  const Grammar c = schema(R"({"const": {"a": [1, "x"]}})");
  EXPECT_TRUE(grammar_matches(c, R"({"a":[1,"x"]})"));
  EXPECT_TRUE(grammar_matches(schema(R"({"type": ["integer", "null"]})"), "null"));
  EXPECT_TRUE(grammar_matches(schema(R"({"type": "string", "nullable": true})"), "null"));
  EXPECT_TRUE(grammar_matches(schema(R"({"enum": ["a"], "nullable": true})"), "null"));
  EXPECT_TRUE(grammar_matches(schema(R"({"allOf": [{"type": "boolean"}], "title": "t"})"), "false"));
  EXPECT_TRUE(grammar_matches(schema("true"), R"([{"a":null}])"));
}

TEST(ConstrainedSchema, WhitespacePolicy) {
  CompileOptions compact;
  compact.max_ws = 0;
  const Grammar c = schema(R"({"type": "object", "properties": {"a": {"type": "array"}}})", compact);
  EXPECT_TRUE(grammar_matches(c, R"({"a":[1,{"b":2}]})"));
  EXPECT_FALSE(grammar_matches(c, R"({"a": []})"));
  CompileOptions pretty;
  pretty.max_ws = 4;
  const Grammar p = schema(R"({"type": "object", "properties": {"a": {"type": "integer"}}})", pretty);
  EXPECT_TRUE(grammar_matches(p, "{\n  \"a\": 1\n}"));
  EXPECT_FALSE(grammar_matches(p, "{\n     \"a\": 1\n}"));
}

TEST(ConstrainedSchema, UnsupportedFeaturesNameKeywordAndPath) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"type":"object","properties":{"foo":{"type":"string","minContains":1}}})", "unsupported keyword 'minContains' at /properties/foo/minContains"},
      {R"({"type":"integer","multipleOf":3})", "unsupported keyword 'multipleOf' at /multipleOf"},
      {R"({"properties":{"a":{"type":"array","uniqueItems":true}}})", "'uniqueItems' (true) at /properties/a/uniqueItems"},
      {R"({"type":"string","format":"email"})", "unsupported format 'email'"},
      {R"({"type":"string","pattern":"(a)\\1"})", "backreference"},
      {R"({"allOf":[{"type":"string"},{"maxLength":2}]})", "'allOf' (more than one schema) at /allOf"},
      {R"({"oneOf":[{"type":"integer"},{"type":"number"}]})", "'oneOf' (branches 0 and 1"},
      {R"({"$ref":"https://example.com/s.json"})", "unresolvable $ref"},
      {R"({"$ref":"#/$defs/missing"})", "unresolvable $ref"},
      {R"({"type":"number","maximum":0.5})", "non-integral bound"},
      {R"({"type":"object","patternProperties":{"^x":{}}})", "unsupported keyword 'patternProperties' at /patternProperties"},
      {R"({"type":"object","properties":{"a":{"if":{}}}})", "unsupported keyword 'if' at /properties/a/if"},
      {R"({"type":"strin"})", "unknown type 'strin' at /type"},
      {R"({"$ref":"#/$defs/a","maxLength":2,"$defs":{"a":{"type":"string"}}})", "'maxLength' next to '$ref'"},
      {R"({"type":"integer","minimum":5,"maximum":4})", "unsatisfiable"},
      {R"({"required":["x"],"additionalProperties":false})", "required property 'x' is not allowed"},
      {"[1,2]", "a schema must be an object or a boolean at /"},
      {"{not json", "[schema] invalid JSON"},
      {R"({"type":"string","nullable":"yes"})", "[schema] malformed schema"},
      {R"({"type":"array","minItems":-1})", "'minItems' must be a non-negative integer at /minItems"},
      {R"({"type":"object","properties":[]})", "'properties' must be an object at /properties"},
  };
  for (const auto& [text, want] : cases) {
    const std::string got = error_of(text);
    EXPECT_NE(got.find(want), std::string::npos) << text << "\n  got: " << got;
    EXPECT_EQ(got.rfind("[schema]", 0), 0u) << got;
  }
}

TEST(ConstrainedSchema, HostileSchemasFailCleanly) {
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += R"({"type":"array","items":)";
  deep += "true" + std::string(500, '}');
  EXPECT_THROW(schema(deep), Error);
  CompileOptions small;
  small.max_states = 5000;
  EXPECT_THROW(schema(R"({"type":"string","maxLength":10000})", small), Error);
  EXPECT_THROW(compile_choice({}), Error);
  EXPECT_THROW(compile_choice({"a", ""}), Error);
}

}  // namespace
}  // namespace slm::constrained
