// tokenizer.json (+ tokenizer_config.json, config.json) -> GGUF tokenizer.* metadata.
// Mirrors the facts of llama.cpp's converter: ids the tokenizer does not define become "[PAD<id>]"
// (UNUSED); added tokens are CONTROL when special or special-looking, else USER_DEFINED; merges are
// "a b" strings (a space inside a pair's part written as U+0120); special ids come from
// tokenizer_config.json's *_token resolved through added_tokens, then from config.json's *_token_id.
#include "convert/hf_vocab.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "tokenizer/json_ids.h"

namespace slm::convert {
namespace {

using json = nlohmann::json;
using gguf::Value;

enum TokType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// The Split regexes of the byte-level pre-tokenizers, as published in each model's tokenizer.json.
constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct PreSignature {
  const char* name;
  std::vector<std::string> steps;  // see pre_steps()
};

const std::vector<PreSignature>& pre_signatures() {
  static const std::vector<PreSignature> s = {
      {"llama-bpe", {std::string("split:") + kLlama3Regex, "bytelevel"}},
      {"qwen2", {std::string("split:") + kQwen2Regex, "bytelevel"}},
      {"smollm", {"digits:individual", "bytelevel:regex"}},
      {"gpt-2", {"bytelevel:regex"}},
  };
  return s;
}

// One string per pre-tokenizer step: "split:<regex>", "digits[:individual]", "bytelevel[:regex]", "other".
void pre_steps(const json& p, std::vector<std::string>& out) {
  if (!p.is_object()) return;
  const std::string type = p.value("type", "");
  if (type == "Sequence") {
    for (const json& q : p.value("pretokenizers", json::array())) pre_steps(q, out);
  } else if (type == "Split") {
    const json pat = p.value("pattern", json::object());
    out.push_back(pat.contains("Regex") && pat["Regex"].is_string() ? "split:" + pat["Regex"].get<std::string>()
                                                                     : "other");
  } else if (type == "Digits") {
    out.push_back(p.value("individual_digits", false) ? "digits:individual" : "digits");
  } else if (type == "ByteLevel") {
    out.push_back(p.value("use_regex", true) ? "bytelevel:regex" : "bytelevel");
  } else {
    out.push_back("other:" + type);
  }
}

bool looks_special(const std::string& t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  auto wrapped = [&](std::string_view a, std::string_view b) { return t.starts_with(a) && t.ends_with(b); };
  return wrapped("<|", "|>") || wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>") || wrapped("<unused", ">");
}

bool is_byte_token(const std::string& t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.starts_with("<0x") && t[5] == '>' && hex(t[3]) && hex(t[4]);
}

// A merge as llama.cpp stores it: "a b"; spaces inside a part become U+0120.
std::string merge_string(const json& m) {
  if (m.is_string()) return m.get<std::string>();
  if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string())
    fail("[convert] tokenizer.json: a merge is neither \"a b\" nor [\"a\", \"b\"]");
  auto enc = [](std::string s) {
    std::string o;
    for (char c : s) o += c == ' ' ? std::string("\xC4\xA0") : std::string(1, c);
    return o;
  };
  return enc(m[0].get<std::string>()) + " " + enc(m[1].get<std::string>());
}

struct Special {
  const char* typ;   // tokenizer_config.json prefix: bos_token, add_bos_token, config bos_token_id
  const char* gguf;  // tokenizer.ggml.<gguf>_token_id
};
constexpr std::array<Special, 7> kSpecials = {{{"bos", "bos"},
                                               {"eos", "eos"},
                                               {"unk", "unknown"},
                                               {"sep", "seperator"},  // sic: llama.cpp's key
                                               {"pad", "padding"},
                                               {"cls", "cls"},
                                               {"mask", "mask"}}};

Value str_array(std::vector<std::string> v) {
  gguf::Array a{gguf::ValueType::string, {}};
  a.items.reserve(v.size());
  for (std::string& s : v) a.items.push_back(Value{std::move(s)});
  return Value{std::move(a)};
}

}  // namespace

json read_json_file(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (required) fail("[convert] {}: cannot open", path);
    return nullptr;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) fail("[convert] {}: not valid JSON", path);
  return j;
}

std::string detect_pre(const json& pre_tokenizer) {
  std::vector<std::string> steps;
  pre_steps(pre_tokenizer, steps);
  for (const PreSignature& s : pre_signatures())
    if (s.steps == steps) return s.name;
  return "";
}

namespace {

// The vocabulary of tokenizer.json as GGUF arrays.
struct Vocab {
  bool spm_style = false;  // byte-fallback BPE: a SentencePiece ("llama") vocabulary
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;  // spm_style only
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, int64_t>> added_by_content;  // file order, for special-id lookup
};

Vocab read_vocab(const json& tj, const json& config) {
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object())
    fail("[convert] tokenizer.json: missing object 'model'");
  const json& model = tj["model"];
  const std::string mtype = model.value("type", "BPE");
  if (mtype != "BPE") fail("[convert] tokenizer.json: model type '{}' is not supported (BPE is)", mtype);
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("[convert] tokenizer.json: missing model.vocab");
  Vocab v;
  v.spm_style = model.value("byte_fallback", false);
  std::map<int64_t, std::string> by_id;
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it)
    by_id[tok::json_token_id(*it, "tokenizer.json", "token '" + it.key() + "'")] = it.key();
  std::map<int64_t, bool> added;  // id -> special
  for (const json& a : tj.value("added_tokens", json::array())) {
    if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a["content"].is_string())
      fail("[convert] tokenizer.json: malformed added token {}", a.dump().substr(0, 80));
    const int64_t id =
        tok::json_token_id(a["id"], "tokenizer.json", "added token '" + a["content"].get<std::string>() + "'");
    by_id[id] = a["content"].get<std::string>();
    added[id] = a.value("special", false);
    v.added_by_content.emplace_back(a["content"].get<std::string>(), id);
  }
  int64_t n = by_id.empty() ? 0 : by_id.rbegin()->first + 1;
  if (config.is_object() && config.contains("vocab_size") && config["vocab_size"].is_number_integer())
    n = std::max<int64_t>(n, config["vocab_size"].get<int64_t>());
  for (const json& m : model.value("merges", json::array())) v.merges.push_back(merge_string(m));

  // SentencePiece-style BPE: llama.cpp merges by token score, so a token made by merge r scores -(r + 1).
  std::map<std::string, int64_t> merge_rank;
  if (v.spm_style)
    for (size_t r = 0; r < v.merges.size(); ++r) {
      const size_t sp = v.merges[r].find(' ');
      merge_rank.emplace(v.merges[r].substr(0, sp) + v.merges[r].substr(sp + 1), int64_t(r));
    }
  const std::string unk = model.contains("unk_token") && model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "";
  v.tokens.resize(size_t(n));
  v.types.assign(size_t(n), kNormal);
  if (v.spm_style) v.scores.assign(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const auto it = by_id.find(i);
    if (it == by_id.end()) {
      v.tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
      v.types[size_t(i)] = kUnused;
      continue;
    }
    const std::string& t = v.tokens[size_t(i)] = it->second;
    int32_t& type = v.types[size_t(i)];
    if (const auto a = added.find(i); a != added.end()) {
      type = a->second || (!v.spm_style && looks_special(t)) ? kControl : kUserDefined;
    } else if (v.spm_style && is_byte_token(t)) {
      type = kByte;
    }
    if (v.spm_style && !unk.empty() && t == unk) type = kUnknown;
    if (v.spm_style)
      if (const auto r = merge_rank.find(t); r != merge_rank.end()) v.scores[size_t(i)] = -float(r->second + 1);
  }
  return v;
}

// bos/eos/unk/... ids: tokenizer_config.json's *_token resolved through added_tokens first, then
// config.json's *_token_id; and the add_*_token flags.
void add_special_ids(const Vocab& v, const json& tc, const json& cfg, std::vector<gguf::KeyValue>& kv) {
  const int64_t n = int64_t(v.tokens.size());
  std::map<std::string, uint32_t> ids;
  std::vector<std::string> order;
  auto set_id = [&](const std::string& typ, const json& id) {
    if (!id.is_number_integer() || ids.count(typ) || id.get<int64_t>() < 0 || id.get<int64_t>() >= n) return;
    ids[typ] = uint32_t(id.get<int64_t>());
    order.push_back(typ);
  };
  std::vector<std::pair<std::string, bool>> add_flags;
  if (tc.is_object()) {
    for (const Special& s : kSpecials) {
      const std::string typ = s.typ;
      if (tc.contains("add_" + typ + "_token") && tc["add_" + typ + "_token"].is_boolean())
        add_flags.emplace_back(typ, tc["add_" + typ + "_token"].get<bool>());
      const json e = tc.value(typ + "_token", json());
      const json content = e.is_object() ? e.value("content", json()) : e;
      if (!content.is_string()) continue;
      for (const auto& [c, id] : v.added_by_content)
        if (c == content.get<std::string>()) {
          set_id(typ, json(id));
          break;
        }
    }
  }
  if (cfg.is_object())
    for (const Special& s : kSpecials) set_id(s.typ, cfg.value(std::string(s.typ) + "_token_id", json()));
  for (const std::string& typ : order) {
    const auto* s = std::find_if(kSpecials.begin(), kSpecials.end(), [&](const Special& x) { return typ == x.typ; });
    kv.push_back({fmt::format("tokenizer.ggml.{}_token_id", s->gguf), Value{ids[typ]}});
  }
  // End-of-turn: the chat models' turn terminator, when the vocabulary has one as a control token.
  for (const char* eot : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>"}) {
    const auto it = std::find(v.tokens.begin(), v.tokens.end(), eot);
    if (it != v.tokens.end() && v.types[size_t(it - v.tokens.begin())] == kControl) {
      kv.push_back({"tokenizer.ggml.eot_token_id", Value{uint32_t(it - v.tokens.begin())}});
      break;
    }
  }
  for (const auto& [typ, flag] : add_flags) kv.push_back({fmt::format("tokenizer.ggml.add_{}_token", typ), Value{flag}});
}

void add_chat_template(const json& tc, const std::optional<std::string>& override_text, std::vector<gguf::KeyValue>& kv) {
  if (override_text) {
    if (!override_text->empty()) kv.push_back({"tokenizer.chat_template", Value{*override_text}});
    return;
  }
  if (!tc.is_object() || !tc.contains("chat_template")) return;
  const json& t = tc["chat_template"];
  if (t.is_string()) {
    kv.push_back({"tokenizer.chat_template", Value{t.get<std::string>()}});
  } else if (t.is_array()) {  // named templates: "default" goes to tokenizer.chat_template
    for (const json& e : t) {
      if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
          !e["template"].is_string())
        continue;
      const std::string name = e["name"].get<std::string>();
      kv.push_back({name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name,
                    Value{e["template"].get<std::string>()}});
    }
  }
}

}  // namespace

std::vector<gguf::KeyValue> vocab_from_hf(const HfVocabInput& in) {
  Vocab v = read_vocab(in.tokenizer, in.config);
  std::string pre = in.pre;
  if (pre.empty()) {
    const json pt = in.tokenizer.value("pre_tokenizer", json());
    pre = v.spm_style ? "default" : detect_pre(pt);
    if (pre.empty())
      fail("[convert] tokenizer.json: the pre-tokenizer {} matches no known GGUF pre-tokenizer (llama-bpe, qwen2, "
           "smollm, gpt-2); name one explicitly",
           pt.dump().substr(0, 200));
  }
  std::vector<gguf::KeyValue> kv;
  kv.push_back({"tokenizer.ggml.model", Value{std::string(v.spm_style ? "llama" : "gpt2")}});
  kv.push_back({"tokenizer.ggml.pre", Value{pre}});
  kv.push_back({"tokenizer.ggml.tokens", str_array(v.tokens)});
  if (v.spm_style) {
    gguf::Array a{gguf::ValueType::f32, {}};
    for (float s : v.scores) a.items.push_back(Value{s});
    kv.push_back({"tokenizer.ggml.scores", Value{std::move(a)}});
  }
  gguf::Array ta{gguf::ValueType::i32, {}};
  for (int32_t t : v.types) ta.items.push_back(Value{t});
  kv.push_back({"tokenizer.ggml.token_type", Value{std::move(ta)}});
  if (!v.spm_style && !v.merges.empty()) kv.push_back({"tokenizer.ggml.merges", str_array(std::move(v.merges))});
  add_special_ids(v, in.tokenizer_config, in.config, kv);
  add_chat_template(in.tokenizer_config, in.chat_template, kv);
  return kv;
}

}  // namespace slm::convert
