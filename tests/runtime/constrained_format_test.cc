// response_format objects to grammars, and the TokenIndex cache.
#include <gtest/gtest.h>

#include "core/error.h"
#include "runtime/constrained/response_format.h"

namespace slm::constrained {
namespace {

using Json = nlohmann::ordered_json;

TEST(ConstrainedFormat, ResponseFormatTypes) {
  EXPECT_FALSE(grammar_for_response_format(Json::parse(R"({"type": "text"})")).has_value());
  const auto obj = grammar_for_response_format(Json::parse(R"({"type": "json_object"})"));
  ASSERT_TRUE(obj.has_value());
  EXPECT_TRUE(grammar_matches(*obj, R"({"a": [1, 2]})"));
  EXPECT_FALSE(grammar_matches(*obj, "[1]"));
  const auto s = grammar_for_response_format(Json::parse(
      R"({"type": "json_schema", "json_schema": {"name": "x", "strict": true, "schema": {"type": "object",
          "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": false}}})"));
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(grammar_matches(*s, R"({"ok": true})"));
  EXPECT_FALSE(grammar_matches(*s, R"({})"));
  const auto any = grammar_for_response_format(Json::parse(R"({"type": "json_schema", "json_schema": {"name": "x"}})"));
  ASSERT_TRUE(any.has_value());
  EXPECT_TRUE(grammar_matches(*any, "\"just a string\""));
}

TEST(ConstrainedFormat, BadResponseFormatsThrowWithTheirComponent) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type": "yaml"})", "[response_format] unsupported type 'yaml'"},
      {R"({"kind": "json_object"})", "[response_format]"},
      {R"({"type": "json_schema"})", "[response_format] type json_schema needs"},
      {R"({"type": "json_schema", "json_schema": {"schema": {"type": "object", "minProperties": 1}}})",
       "[schema] unsupported keyword 'minProperties' at /minProperties"},
  };
  for (auto [text, want] : cases) {
    try {
      grammar_for_response_format(Json::parse(text));
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
}

TEST(ConstrainedFormat, IndexCacheReusesAndEvicts) {
  Vocabulary v;
  for (int b = 0; b < 256; ++b) v.pieces.push_back(std::string(1, char(b)));
  IndexCache cache(std::make_shared<VocabTrie>(v), 2);
  int builds = 0;
  auto choice = [&](std::vector<std::string> c) {
    return cache.get(cache_key_for_choice(c), [&] {
      ++builds;
      return compile_choice(c);
    });
  };
  const auto a = choice({"yes", "no"});
  EXPECT_EQ(choice({"yes", "no"}), a);
  EXPECT_EQ(builds, 1);
  choice({"b"});
  choice({"c"});  // evicts {"yes", "no"}
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(choice({"yes", "no"}), a);
  EXPECT_EQ(builds, 4);
  EXPECT_NE(cache_key_for_choice({"a|b"}), cache_key_for_choice({"a", "b"}));
  EXPECT_THROW(choice({}), Error);
  EXPECT_EQ(cache.size(), 2u);
  const Json rf = Json::parse(R"({"type": "json_schema", "json_schema": {"schema": {"type": "integer"}}})");
  CompileOptions compact;
  compact.max_ws = 0;
  EXPECT_NE(cache_key_for_response_format(rf, {}), cache_key_for_response_format(rf, compact));
}

}  // namespace
}  // namespace slm::constrained
