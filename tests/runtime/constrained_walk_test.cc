// Token-level constraints end to end: random walks over allowed tokens (a small made-up vocabulary with
// multi-byte tokens, and the real Llama 3 vocabulary) always give JSON that validates against the schema;
// every valid document can be produced token by token; choice yields exactly one of its strings.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <unordered_map>

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
      const std::u32string pat = decode_utf8(s["pattern"].get<std::string>(), "[test]");
      if (!std::regex_search(w, std::wregex(std::wstring(pat.begin(), pat.end()), std::wregex::ECMAScript))) return false;
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

// ---- Vocabularies ----

// 256 single bytes, multi-byte tokens that cross JSON structure, UTF-8 pieces, and special tokens.
std::shared_ptr<VocabTrie> small_vocab() {
  Vocabulary v;
  for (int b = 0; b < 256; ++b) v.pieces.push_back(std::string(1, char(b)));
  for (const char* t : {"{\"", "\":", "\": ", "\",", "\", \"", ", \"", "\"}", "}]", "]}", "[{", "[]", "{}", "true", "false",
                        "null", "nul", "12", "3.", ".5", "e+", "-1", "00", "name", "age", "id", "tags", "kids", "\"v\":",
                        "ab", "abc", "  ", " \n", "\\n", "\\\"", "\\u00", "\\u001", "\xC3\xA9", "\xE2\x82", "\xAC\"",
                        "2024-", "-02-", "29", "T1", ":00", "Z\"", "positive", "neg", "ative", "neutral", "yes", "ye"}) {
    v.pieces.push_back(t);
  }
  v.special.assign(v.pieces.size(), 0);
  for (const char* sp : {"<s>", "</s>", "<|pad|>"}) {
    v.pieces.push_back(sp);
    v.special.push_back(1);
  }
  v.pieces.push_back("");  // an empty normal token: never allowed
  v.special.push_back(0);
  v.eos = {int32_t(v.pieces.size()) - 3};  // "</s>"
  return std::make_shared<VocabTrie>(std::move(v));
}

// encoder.json (GPT-2 byte alphabet) -> exact bytes, plus the 256 Llama 3 special ids after it.
std::shared_ptr<VocabTrie> llama3_vocab(const std::filesystem::path& path) {
  std::ifstream f(path);
  const nlohmann::json enc = nlohmann::json::parse(f);
  std::map<uint32_t, uint8_t> to_byte;
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    to_byte[printable ? b : next++] = uint8_t(b);
  }
  Vocabulary v;
  v.pieces.resize(enc.size() + 256);
  v.special.assign(v.pieces.size(), 0);
  for (const auto& [text, id] : enc.items()) {
    std::string bytes;
    for (char32_t c : decode_utf8(text, "[test]")) bytes += char(to_byte.at(uint32_t(c)));
    v.pieces[id.get<size_t>()] = bytes;
  }
  for (size_t i = enc.size(); i < v.pieces.size(); ++i) v.pieces[i] = "<|special|>", v.special[i] = 1;
  v.eos = {128001, 128009};
  return std::make_shared<VocabTrie>(std::move(v));
}

// ---- Walks ----

std::vector<int32_t> allowed_ids(const std::vector<uint64_t>& mask) {
  std::vector<int32_t> ids;
  for (size_t w = 0; w < mask.size(); ++w) {
    for (uint64_t b = mask[w]; b; b &= b - 1) ids.push_back(int32_t(w * 64 + size_t(__builtin_ctzll(b))));
  }
  return ids;
}

// Random allowed tokens for `free_steps`, then the tokens that bring acceptance closest, then eos.
// Checks on the way that the mask agrees with is_allowed and that the constraint never dead-ends.
std::string random_walk(Constraint c, Rng& rng, int free_steps, bool check_all_ids) {
  const VocabTrie& vocab = c.index().vocab();
  std::string out;
  for (int step = 0; step < 5000; ++step) {
    const std::vector<int32_t> ids = allowed_ids(c.allowed());
    EXPECT_FALSE(ids.empty()) << "dead end after '" << out << "'";
    if (ids.empty()) return out;
    for (int k = 0; k < (check_all_ids ? vocab.n_vocab() : 64); ++k) {
      const int32_t id = check_all_ids ? k : int32_t(rng.below(uint64_t(vocab.n_vocab())));
      const bool in_mask = std::binary_search(ids.begin(), ids.end(), id);
      EXPECT_EQ(c.is_allowed(id), in_mask) << "id " << id << " after '" << out << "'";
    }
    std::vector<int32_t> eos, text;
    for (int32_t id : ids) (vocab.is_eos(id) ? eos : text).push_back(id);
    int32_t pick;
    if (!eos.empty() && (text.empty() || step >= free_steps || rng.below(5) == 0)) {
      pick = eos[0];
    } else if (step < free_steps) {
      pick = text[rng.below(text.size())];
    } else {
      uint32_t best = ~0u;
      pick = text[0];
      for (int32_t id : text) {
        Constraint t = c;
        t.advance(id);
        const uint32_t d = t.index().distance(t.state()) * 4 + uint32_t(rng.below(4));
        if (d < best) best = d, pick = id;
      }
    }
    EXPECT_TRUE(c.advance(pick));
    if (vocab.is_eos(pick)) {
      EXPECT_TRUE(c.finished());
      EXPECT_TRUE(allowed_ids(c.allowed()).empty());
      return out;
    }
    out += vocab.vocab().pieces[size_t(pick)];
  }
  ADD_FAILURE() << "walk did not finish: '" << out << "'";
  return out;
}

const char* kSchemas[] = {
    R"({"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120},
        "email":{"type":"string","pattern":"^[a-z]+@[a-z]+\\.(com|org)$"},"tags":{"type":"array","items":{"enum":["a","b","c"]},"maxItems":3}},
        "required":["name","age"],"additionalProperties":false})",
    R"({"type":"array","prefixItems":[{"type":"boolean"},{"type":"null"}],"items":{"type":"number","exclusiveMinimum":-2,"maximum":3},"minItems":1,"maxItems":5})",
    R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}},"$ref":"#/$defs/node"})",
    R"({"anyOf":[{"type":"string","minLength":2,"maxLength":4},{"type":"integer","exclusiveMaximum":0},{"type":"null"}]})",
    R"({"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0}},"required":["kind","r"]},
                 {"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"integer"},"h":{"type":"integer"}},"required":["kind"]}]})",
    R"({"type":"object","properties":{"when":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"},
        "id":{"type":"string","format":"uuid"},"note":{"type":["string","null"]},"meta":{}},"required":["when","day","id"]})",
    R"({"type":"object","additionalProperties":{"type":"boolean"}})",
    R"({"type":"object"})",
    // (\s is left out: std::wregex, the validator here, knows only ASCII spaces; ECMA-262 has more.)
    R"({"type":"string","pattern":"^(\\d{3}-)?\\w+ ?[^a-c]$","minLength":3,"maxLength":9})",
    R"({"enum":["x",1,null,[1,{"a":true}],{"k":"v"}]})",
};

void walk_schemas(const std::shared_ptr<VocabTrie>& vocab, int walks, bool check_all_ids) {
  Rng rng(42);
  for (const char* text : kSchemas) {
    const Json schema = Json::parse(text);
    for (int max_ws : {0, 2}) {
      CompileOptions opt;
      opt.max_ws = max_ws;
      opt.max_depth = 3;
      const Grammar g = compile_json_schema(schema, opt);
      auto index = std::make_shared<TokenIndex>(g, vocab);
      for (int w = 0; w < walks; ++w) {
        const std::string out = random_walk(Constraint(index), rng, int(rng.below(40)), check_all_ids);
        EXPECT_TRUE(grammar_matches(g, out)) << out;
        Json doc;
        try {
          doc = Json::parse(out);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "not JSON: '" << out << "' (" << e.what() << ") schema " << text;
          continue;
        }
        EXPECT_TRUE(validate(doc, schema, schema)) << "'" << out << "' fails " << text;
      }
    }
  }
}

TEST(ConstrainedWalk, SmallVocabRandomWalksValidate) { walk_schemas(small_vocab(), 25, true); }

TEST(ConstrainedWalk, Llama3VocabRandomWalksValidate) {
  SLM_REQUIRE_TESTDATA(path, "tokenizers/llama3-bpe/encoder.json");
  walk_schemas(llama3_vocab(path), 6, false);
}

// The lowest normal id for each distinct piece, built once per vocabulary.
const std::unordered_map<std::string, int32_t>& piece_ids(const VocabTrie& vocab) {
  static std::map<const VocabTrie*, std::unordered_map<std::string, int32_t>> cache;
  auto& m = cache[&vocab];
  if (m.empty()) {
    for (int32_t id = 0; id < vocab.n_vocab(); ++id) {
      if (!vocab.is_special(id) && !vocab.vocab().pieces[size_t(id)].empty()) m.emplace(vocab.vocab().pieces[size_t(id)], id);
    }
  }
  return m;
}

// Feeds `doc` as a random segmentation into tokens of the vocabulary; every token must be in the mask.
void feed(const std::shared_ptr<TokenIndex>& index, const std::string& doc, Rng& rng) {
  const VocabTrie& vocab = index->vocab();
  const auto& ids = piece_ids(vocab);
  Constraint c(index);
  size_t at = 0;
  while (at < doc.size()) {
    std::vector<int32_t> fits;
    for (size_t len = 1; len <= std::min<size_t>(doc.size() - at, vocab.max_depth()); ++len) {
      if (auto it = ids.find(doc.substr(at, len)); it != ids.end()) fits.push_back(it->second);
    }
    ASSERT_FALSE(fits.empty());
    const int32_t id = fits[rng.below(fits.size())];
    const std::vector<uint64_t> mask = c.allowed();
    ASSERT_TRUE((mask[size_t(id) / 64] >> (id % 64)) & 1)
        << "token '" << vocab.vocab().pieces[size_t(id)] << "' blocked after '" << doc.substr(0, at) << "' in " << doc;
    ASSERT_TRUE(c.advance(id));
    at += vocab.vocab().pieces[size_t(id)].size();
  }
  ASSERT_TRUE(c.accepting()) << doc;
  ASSERT_TRUE(c.advance(vocab.vocab().eos[0])) << doc;
}

const std::pair<const char*, std::vector<const char*>> kDocs[] = {
    {kSchemas[0], {R"({"name":"Ann","age":31})", R"({"name": "\u001f\n\"é€", "age": 0, "email": "x@y.com", "tags": ["a", "c"]})",
                   R"({"name":"","age":120,"tags":[]})"}},
    {kSchemas[1], {R"([true])", R"([false,null,-1.5,3,0.25])", R"([ true, null, -0 ])"}},
    {kSchemas[2], {R"({"v":1})", R"({"v":-7,"kids":[{"v":2,"kids":[]},{"v":3}]})"}},
    {kSchemas[3], {R"("ab")", R"("abcd")", "-12", "null"}},
    {kSchemas[4], {R"({"kind":"circle","r":2.5})", R"({"kind":"rect","h":3})"}},
    {kSchemas[5], {R"({"when":"2024-02-29T12:00:00Z","day":"2023-12-31","id":"123e4567-e89b-12d3-a456-426614174000","note":null,"meta":{"x":[1,2]}})"}},
    {kSchemas[6], {"{}", R"({"a":true,"b":false})"}},
    {kSchemas[7], {R"({"a":[1,{"b":"c"}],"d":null})", "{}"}},
    {kSchemas[8], {R"("123-abc d")", R"("x_z")"}},
    {kSchemas[9], {R"("x")", "1", "null", R"([1,{"a":true}])", R"({"k":"v"})"}},
};

TEST(ConstrainedWalk, EveryValidDocumentCanBeProduced) {
  Rng rng(3);
  const auto vocab = small_vocab();
  for (const auto& [text, docs] : kDocs) {
    CompileOptions opt;
    opt.max_ws = 1;
    opt.max_depth = 3;
    auto index = std::make_shared<TokenIndex>(compile_json_schema(Json::parse(text), opt), vocab);
    for (const char* doc : docs) {
      ASSERT_TRUE(validate(Json::parse(doc), Json::parse(text), Json::parse(text))) << "bad fixture " << doc;
      for (int rep = 0; rep < 5; ++rep) feed(index, doc, rng);
    }
  }
}

TEST(ConstrainedWalk, Llama3VocabProducesValidDocuments) {
  SLM_REQUIRE_TESTDATA(path, "tokenizers/llama3-bpe/encoder.json");
  const auto vocab = llama3_vocab(path);
  Rng rng(9);
  for (const auto& [text, docs] : kDocs) {
    CompileOptions opt;
    opt.max_depth = 3;
    auto index = std::make_shared<TokenIndex>(compile_json_schema(Json::parse(text), opt), vocab);
    for (const char* doc : docs) feed(index, doc, rng);
  }
}

TEST(ConstrainedWalk, ChoiceYieldsExactlyOneString) {
  const std::vector<std::string> choices = {"positive", "negative", "neutral", "neg", "yes"};
  const auto vocab = small_vocab();
  auto index = std::make_shared<TokenIndex>(compile_choice(choices), vocab);
  Rng rng(1);
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) {
    const std::string out = random_walk(Constraint(index), rng, 100, true);
    EXPECT_NE(std::find(choices.begin(), choices.end(), out), choices.end()) << out;
    ++seen[out];
  }
  EXPECT_EQ(seen.size(), choices.size());  // each is reachable
  for (const auto& ch : choices) feed(index, ch, rng);
  Constraint c(index);
  EXPECT_FALSE(c.is_allowed(vocab->vocab().eos[0]));  // nothing chosen yet
  for (const char* bad : {"ye", "p", "x"}) {
    Constraint d(index);
    for (char ch : std::string(bad)) ASSERT_TRUE(d.advance(int32_t(uint8_t(ch))) || std::string(bad) == "x");
    EXPECT_FALSE(d.accepting()) << bad;
  }
}

TEST(ConstrainedWalk, SpecialAndEmptyTokensAreNeverAllowed) {
  const auto vocab = small_vocab();
  auto index = std::make_shared<TokenIndex>(compile_json_object(), vocab);
  Constraint c(index);
  const int n = vocab->n_vocab();
  for (const char* piece : {"{", "}"}) {
    for (int32_t id : {n - 4, n - 3, n - 2, n - 1}) {  // <s> </s> <|pad|> ""
      if (id == vocab->vocab().eos[0] && std::string(piece) == "{") continue;
      EXPECT_FALSE(c.is_allowed(id)) << id;
    }
    EXPECT_TRUE(c.advance(int32_t(uint8_t(piece[0]))));
  }
  EXPECT_TRUE(c.done());
  EXPECT_TRUE(c.is_allowed(vocab->vocab().eos[0]));
  EXPECT_FALSE(c.advance(n - 4));
  std::vector<float> logits(size_t(n) + 3, 1.0f);
  c.mask_logits(logits);
  for (int i = 0; i < n + 3; ++i) EXPECT_EQ(std::isinf(logits[size_t(i)]), i != vocab->vocab().eos[0]) << i;
}

}  // namespace
}  // namespace slm::constrained
