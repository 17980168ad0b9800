// Regex subset -> byte automaton: differential checks against std::regex on random strings, UTF-8 and
// JSON-string encodings, and the errors for unsupported syntax.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "runtime/constrained/compile.h"
#include "runtime/constrained/json_values.h"
#include "runtime/constrained/pattern.h"

namespace slm::constrained {
namespace {

std::string random_string(Rng& rng, const std::string& alphabet, size_t max_len) {
  std::string s;
  const size_t n = rng.below(max_len + 1);
  for (size_t i = 0; i < n; ++i) s += alphabet[rng.below(alphabet.size())];
  return s;
}

const char* kPatterns[] = {
    "abc", "a|b|cd", "a*", "(ab)+c?", "[a-c]{2,3}", "x{3}", "x{2,}", "[^ab]*", "\\d+", "\\w\\W",
    "(a|b)*abb", "colou?r", "[0-9]{4}-[0-9]{2}", "(?:ab|a)(?:c|bc)", "[-a]", "[a-]", "\\.\\*", "a.c",
    "[\\d_]+", "(a(b(c)?)?)?", "a{0,2}b{1,2}", "\\s?x", "[]", "[^]", "a+?b*?",
};

TEST(ConstrainedPattern, WholeMatchAgreesWithStdRegex) {
  Rng rng(7);
  for (const char* p : kPatterns) {
    const Grammar g = [&] {
      try {
        return compile_regex(p);
      } catch (const Error&) {
        return Grammar{};
      }
    }();
    const std::regex re(p, std::regex::ECMAScript);
    const std::string alphabet = "abcdx01-_.* \t\n9";
    for (int i = 0; i < 400; ++i) {
      const std::string s = random_string(rng, alphabet, 6);
      const bool want = std::regex_match(s, re);
      const bool got = g.nfa ? grammar_matches(g, s) : false;
      EXPECT_EQ(got, want) << "pattern '" << p << "' on '" << s << "'";
    }
  }
}

TEST(ConstrainedPattern, SchemaSearchSemanticsOnJsonStrings) {
  // JSON Schema patterns match anywhere unless anchored; the automaton reads the JSON-encoded string.
  Rng rng(11);
  const char* patterns[] = {"ab", "^ab", "ab$", "^a+$", "^(x|y)\\d$|z", "b\\.c", "^[^\"\\\\]*$", "\"", "\\\\n"};
  for (const char* p : patterns) {
    const ExprPtr e = ir_seq({ir_byte('"'), compile_pattern(p, true, CharEncoding::json, "[test]"), ir_byte('"')});
    const Grammar g = make_grammar(e, 1 << 20);
    const std::regex re(p, std::regex::ECMAScript);
    for (int i = 0; i < 400; ++i) {
      const std::string s = random_string(rng, "abxyz01.\"\\\n", 6);
      EXPECT_EQ(grammar_matches(g, json_quote(s)), std::regex_search(s, re)) << p << " on " << json_quote(s);
    }
  }
}

TEST(ConstrainedPattern, Utf8ClassesAndEscapes) {
  const Grammar dot = compile_regex("a.c");
  EXPECT_TRUE(grammar_matches(dot, "a\xC3\xA9" "c"));          // U+00E9 is one character
  EXPECT_TRUE(grammar_matches(dot, "a\xF0\x9F\x98\x80" "c"));  // U+1F600
  EXPECT_FALSE(grammar_matches(dot, "a\xC3" "c"));             // a broken sequence is not a character
  EXPECT_FALSE(grammar_matches(dot, "a\xED\xA0\x80" "c"));     // an encoded surrogate is not either
  EXPECT_FALSE(grammar_matches(dot, "a\nc"));
  const Grammar range = compile_regex("[\\u00e0-\\u00ff\\u4e00-\\u9fff]+");
  EXPECT_TRUE(grammar_matches(range, "\xC3\xA0\xE4\xB8\x80\xC3\xBF"));
  EXPECT_FALSE(grammar_matches(range, "\xC3\x9F"));  // U+00DF is below the range
  const Grammar neg = compile_regex("[^a]");
  EXPECT_TRUE(grammar_matches(neg, "\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(grammar_matches(neg, "a"));
  EXPECT_TRUE(grammar_matches(compile_regex("(?<name>a)b"), "ab"));  // named group = plain group
  EXPECT_TRUE(grammar_matches(compile_regex("\\x41\\u0042\\uD83D\\uDE00"), "AB\xF0\x9F\x98\x80"));
}

TEST(ConstrainedPattern, JsonCharacterPolicy) {
  const Grammar g = make_grammar(json_string(0, -1), 1 << 20);
  for (const char* ok : {"\"\"", "\"a\\\"b\"", "\"\\\\\"", "\"\\/\"", "\"\\b\\f\\n\\r\\t\"", "\"\\u001f\\u0000\"",
                         "\"\\u001F\"", "\"\xE2\x82\xAC\""}) {
    EXPECT_TRUE(grammar_matches(g, ok)) << ok;
  }
  for (const char* bad : {"\"", "\"a\nb\"", "\"\\x\"", "\"\\u0041\"", "\"\\u00\"", "\"\xC3\"", "\"\"\""}) {
    EXPECT_FALSE(grammar_matches(g, bad)) << bad;
  }
  const Grammar len = make_grammar(json_string(2, 3), 1 << 20);
  EXPECT_FALSE(grammar_matches(len, "\"a\""));
  EXPECT_TRUE(grammar_matches(len, "\"a\\n\""));  // an escape is one character
  EXPECT_TRUE(grammar_matches(len, "\"\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\""));
  EXPECT_FALSE(grammar_matches(len, "\"abcd\""));
}

TEST(ConstrainedPattern, UnsupportedSyntaxThrowsNamingIt) {
  const std::pair<const char*, const char*> cases[] = {
      {"(a)\\1", "backreference"}, {"a(?=b)", "lookaround"}, {"\\bword", "word boundary"},
      {"\\p{L}", "Unicode property"}, {"a^b", "anchor"}, {"a$b", "anchor"}, {"(ab", "missing ')'"},
      {"ab)", "unbalanced"}, {"[ab", "missing ']'"}, {"*a", "nothing to repeat"}, {"a{1001}", "above 1000"},
      {"a{3,2}", "m < n"}, {"[z-a]", "out of order"}, {"\\q", "unsupported regex escape"},
      {"(?i)a", "lookaround or inline flags"}};
  for (auto [p, what] : cases) {
    try {
      compile_regex(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << p << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("[regex]", 0), 0u) << e.what();
    }
  }
}

TEST(ConstrainedPattern, DeepNestingIsAnErrorNotACrash) {
  EXPECT_THROW(compile_regex(std::string(200, '(') + "a" + std::string(200, ')')), Error);
}

}  // namespace
}  // namespace slm::constrained
