// Tokenizer from Hugging Face tokenizer.json (+ tokenizer_config.json): BPE (byte-level or with byte
// fallback) and WordPiece models with their normalizers, pre-tokenizers, post-processor and decoder.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/json_ids.h"
#include "tokenizer/presets.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {

using nlohmann::json;

namespace {

std::string str_or(const json& j, const char* key, std::string def = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : def;
}
bool bool_or(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

// {"String": s} or {"Regex": r} -> (text, literal)
std::pair<std::string, bool> pattern_of(const json& p) {
  if (p.contains("String")) return {p["String"].get<std::string>(), true};
  if (p.contains("Regex")) return {p["Regex"].get<std::string>(), false};
  fail("[tokenizer] tokenizer.json: pattern without String or Regex: {}", p.dump());
}

void add_normalizer(const json& j, TokenizerSpec& s) {
  if (j.is_null()) return;
  const std::string t = str_or(j, "type");
  using K = NormStep::Kind;
  if (t == "Sequence") {
    for (const json& n : j.at("normalizers")) add_normalizer(n, s);
  } else if (t == "NFC") s.normalizers.push_back({K::nfc, "", ""});
  else if (t == "NFD") s.normalizers.push_back({K::nfd, "", ""});
  else if (t == "NFKC") s.normalizers.push_back({K::nfkc, "", ""});
  else if (t == "NFKD") s.normalizers.push_back({K::nfkd, "", ""});
  else if (t == "Lowercase") s.normalizers.push_back({K::lowercase, "", ""});
  else if (t == "StripAccents") s.normalizers.push_back({K::strip_accents, "", ""});
  else if (t == "Prepend") s.normalizers.push_back({K::prepend, j.at("prepend").get<std::string>(), ""});
  else if (t == "Replace") {
    auto [pat, literal] = pattern_of(j.at("pattern"));
    if (!literal) fail("[tokenizer] tokenizer.json: Replace normalizer with a regex is not supported");
    s.normalizers.push_back({K::replace, pat, j.at("content").get<std::string>()});
  } else if (t == "BertNormalizer") {
    const bool lower = bool_or(j, "lowercase", true);
    if (bool_or(j, "clean_text", true)) s.normalizers.push_back({K::bert_clean, "", ""});
    if (bool_or(j, "handle_chinese_chars", true)) s.normalizers.push_back({K::bert_cjk, "", ""});
    if (bool_or(j, "strip_accents", lower)) s.normalizers.push_back({K::strip_accents, "", ""});
    if (lower) s.normalizers.push_back({K::lowercase, "", ""});
  } else {
    fail("[tokenizer] tokenizer.json: normalizer '{}' is not supported", t);
  }
}

PreStep::Behavior behavior_of(const std::string& b) {
  using B = PreStep::Behavior;
  if (b == "Isolated") return B::isolated;
  if (b == "Removed") return B::removed;
  if (b == "MergedWithPrevious") return B::merged_with_previous;
  if (b == "MergedWithNext") return B::merged_with_next;
  if (b == "Contiguous") return B::contiguous;
  fail("[tokenizer] tokenizer.json: split behaviour '{}' is not supported", b);
}

void add_pre_tokenizer(const json& j, TokenizerSpec& s) {
  if (j.is_null()) return;
  const std::string t = str_or(j, "type");
  using B = PreStep::Behavior;
  if (t == "Sequence") {
    for (const json& p : j.at("pretokenizers")) add_pre_tokenizer(p, s);
  } else if (t == "Split") {
    auto [pat, literal] = pattern_of(j.at("pattern"));
    s.pre_steps.push_back({PreStep::Kind::split, pat, literal, behavior_of(str_or(j, "behavior", "Isolated")),
                           bool_or(j, "invert", false)});
  } else if (t == "ByteLevel") {
    s.byte_level = true;
    if (bool_or(j, "add_prefix_space", false)) s.normalizers.push_back({NormStep::Kind::prepend_first, " ", ""});
    if (bool_or(j, "use_regex", true)) s.pre_steps.push_back({PreStep::Kind::split, kGpt2Pattern});
  } else if (t == "Digits") {
    s.pre_steps.push_back({PreStep::Kind::split, bool_or(j, "individual_digits", false) ? "\\p{N}" : "\\p{N}+"});
  } else if (t == "Metaspace") {
    const std::string rep = str_or(j, "replacement", "\xE2\x96\x81");
    std::string scheme = str_or(j, "prepend_scheme", bool_or(j, "add_prefix_space", true) ? "always" : "never");
    s.normalizers.push_back({NormStep::Kind::replace, " ", rep});
    if (scheme == "always") s.normalizers.push_back({NormStep::Kind::prepend, rep, ""});
    if (scheme == "first") s.normalizers.push_back({NormStep::Kind::prepend_first, rep, ""});
    if (bool_or(j, "split", true)) s.pre_steps.push_back({PreStep::Kind::split, rep, true, B::merged_with_next});
  } else if (t == "BertPreTokenizer") {
    s.pre_steps.push_back({PreStep::Kind::bert, ""});
  } else if (t == "Whitespace") {
    s.pre_steps.push_back({PreStep::Kind::split, "\\w+|[^\\w\\s]+", false, B::removed, true});
  } else if (t == "WhitespaceSplit") {
    s.pre_steps.push_back({PreStep::Kind::split, "\\s+", false, B::removed});
  } else if (t == "Punctuation") {
    s.pre_steps.push_back({PreStep::Kind::split, "\\p{P}", false, behavior_of(str_or(j, "behavior", "Isolated"))});
  } else {
    fail("[tokenizer] tokenizer.json: pre-tokenizer '{}' is not supported", t);
  }
}

void read_decoder(const json& j, TokenizerSpec& s) {
  if (j.is_null()) return;
  const std::string t = str_or(j, "type");
  if (t == "Sequence") {
    for (const json& d : j.at("decoders")) read_decoder(d, s);
  } else if (t == "Strip") {
    const auto start = j.find("start");
    if (start != j.end() && start->is_number() && start->get<double>() > 0 && str_or(j, "content", " ") == " ")
      s.decode_strip_space = true;
  } else if (t == "Metaspace") {
    const std::string scheme = str_or(j, "prepend_scheme", bool_or(j, "add_prefix_space", true) ? "always" : "never");
    if (scheme != "never") s.decode_strip_space = true;
  } else if (t == "WordPiece") {
    s.decode_strip_space = true;
  }
}

TokenId id_of(const TokenizerSpec& s, const std::string& text) {
  for (const AddedToken& a : s.added)
    if (a.content == text) return a.id;
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i] == text) return TokenId(i);
  return kNoToken;
}

// The post-processor decides which tokens surround a sequence when add_special is set.
void read_post_processor(const json& j, TokenizerSpec& s, bool* decided) {
  if (j.is_null()) return;
  const std::string t = str_or(j, "type");
  if (t == "Sequence") {
    for (const json& p : j.at("processors")) read_post_processor(p, s, decided);
  } else if (t == "TemplateProcessing") {
    *decided = true;
    bool seen_seq = false;
    for (const json& item : j.at("single")) {
      if (item.contains("Sequence")) {
        seen_seq = true;
        continue;
      }
      if (!item.contains("SpecialToken")) continue;
      const std::string name = item["SpecialToken"].at("id").get<std::string>();
      TokenId id = kNoToken;
      // special_tokens.<name>.ids[0] where all of it is there (operator[] of a const json on a missing key
      // is undefined behaviour, so find() all the way down).
      if (const auto st = j.find("special_tokens"); st != j.end() && st->is_object())
        if (const auto e = st->find(name); e != st->end() && e->is_object())
          if (const auto ids = e->find("ids"); ids != e->end() && ids->is_array() && !ids->empty())
            id = json_token_id(ids->front(), "tokenizer.json", "special_tokens." + name + ".ids[0]");
      if (id == kNoToken) id = id_of(s, name);
      if (!seen_seq) s.bos = id, s.add_bos = true;
      else s.eos = id, s.add_eos = true;
    }
  } else if (t == "BertProcessing" || t == "RobertaProcessing") {
    *decided = true;
    s.bos = json_token_id(j.at("cls").at(1), "tokenizer.json", "post_processor.cls[1]");
    s.eos = json_token_id(j.at("sep").at(1), "tokenizer.json", "post_processor.sep[1]");
    s.add_bos = s.add_eos = true;
  }
}

std::string token_name(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return str_or(*it, "content");
  return "";
}

void read_model(const json& m, TokenizerSpec& s) {
  const std::string type = str_or(m, "type");
  const json& vocab = m.at("vocab");
  size_t n = 0;
  if (!vocab.is_object()) fail("[tokenizer] tokenizer.json: model.vocab must be an object of token: id");
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    n = std::max<size_t>(n, size_t(json_token_id(it.value(), "tokenizer.json", "token '" + it.key() + "'")) + 1);
  check_dense_ids(n, vocab.size(), "tokenizer.json");
  s.tokens.assign(n, "");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) s.tokens[it.value().get<size_t>()] = it.key();
  if (type == "BPE") {
    s.kind = ModelKind::bpe;
    s.byte_fallback = bool_or(m, "byte_fallback", false);
    s.ignore_merges = bool_or(m, "ignore_merges", false);
    for (const json& mg : m.at("merges")) {
      if (mg.is_array()) {
        s.merges.emplace_back(mg.at(0).get<std::string>(), mg.at(1).get<std::string>());
      } else {
        const std::string t = mg.get<std::string>();
        const size_t sp = t.find(' ', 1);
        if (sp == std::string::npos) fail("[tokenizer] tokenizer.json: merge '{}' has no space", t);
        s.merges.emplace_back(t.substr(0, sp), t.substr(sp + 1));
      }
    }
  } else if (type == "WordPiece") {
    s.kind = ModelKind::wordpiece;
    s.wordpiece_hf_form = true;
    if (str_or(m, "continuing_subword_prefix", "##") != "##")
      fail("[tokenizer] tokenizer.json: WordPiece prefix other than ## is not supported");
  } else {
    fail("[tokenizer] tokenizer.json: model type '{}' is not supported (BPE, WordPiece are)", type);
  }
  const std::string unk = str_or(m, "unk_token");
  if (!unk.empty()) {
    auto it = vocab.find(unk);
    if (it != vocab.end()) s.unk = json_token_id(it.value(), "tokenizer.json", "unk_token '" + unk + "'");
  }
}

}  // namespace

Tokenizer Tokenizer::from_hf_json(std::string_view tokenizer_json, std::string_view config_json) {
  json j, cfg;
  try {
    j = json::parse(tokenizer_json);
    cfg = config_json.empty() ? json::object() : json::parse(config_json);
  } catch (const json::exception& e) {
    fail("[tokenizer] tokenizer.json: {}", e.what());
  }
  TokenizerSpec s;
  try {
    read_model(j.at("model"), s);
    // Added tokens may extend the vocabulary.
    if (j.contains("added_tokens")) {
      for (const json& a : j["added_tokens"]) {
        AddedToken t{json_token_id(a.at("id"), "tokenizer.json", "added token id"), a.at("content").get<std::string>(),
                     bool_or(a, "special", false), bool_or(a, "lstrip", false), bool_or(a, "rstrip", false)};
        if (size_t(t.id) >= s.tokens.size()) {
          check_dense_ids(size_t(t.id) + 1, j["model"]["vocab"].size() + j["added_tokens"].size(), "tokenizer.json");
          s.tokens.resize(t.id + 1);
        }
        s.tokens[t.id] = t.content;
        s.added.push_back(t);
      }
    }
    s.types.assign(s.tokens.size(), TokenType::normal);
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      if (s.tokens[i].empty()) {
        s.tokens[i] = "[PAD" + std::to_string(i) + "]";
        s.types[i] = TokenType::unused;
      } else if (s.byte_fallback && s.tokens[i].size() == 6 && s.tokens[i].starts_with("<0x")) {
        s.types[i] = TokenType::byte;
      }
    }
    for (const AddedToken& a : s.added) s.types[a.id] = a.special ? TokenType::control : TokenType::user_defined;
    if (s.unk != kNoToken && s.types[s.unk] == TokenType::control) s.types[s.unk] = TokenType::unknown;
    add_normalizer(j.value("normalizer", json()), s);
    add_pre_tokenizer(j.value("pre_tokenizer", json()), s);
    read_decoder(j.value("decoder", json()), s);
    bool decided = false;
    read_post_processor(j.value("post_processor", json()), s, &decided);

    if (const std::string b = token_name(cfg, "bos_token"); !b.empty() && (s.bos == kNoToken || !decided))
      s.bos = id_of(s, b);
    if (const std::string e = token_name(cfg, "eos_token"); !e.empty()) {
      const TokenId eos = id_of(s, e);
      if (!s.add_eos) s.eos = eos;
      else if (eos != s.eos) s.eog.push_back(eos);
    }
    if (const std::string p = token_name(cfg, "pad_token"); !p.empty()) s.pad = id_of(s, p);
    if (!decided) {
      s.add_bos = bool_or(cfg, "add_bos_token", false) && s.bos != kNoToken;
      s.add_eos = bool_or(cfg, "add_eos_token", false) && s.eos != kNoToken;
    }
    if (auto it = cfg.find("chat_template"); it != cfg.end()) {
      if (it->is_string()) {
        s.chat_template = it->get<std::string>();
      } else if (it->is_array()) {
        for (const json& t : *it)
          if (str_or(t, "name") == "default" || s.chat_template.empty()) s.chat_template = str_or(t, "template");
      }
    }
  } catch (const json::exception& e) {
    fail("[tokenizer] tokenizer.json: {}", e.what());
  }
  s.pre = s.byte_level ? "hf-byte-level" : "hf";
  detect_eog(s);
  return Tokenizer(std::move(s));
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[tokenizer] cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Tokenizer Tokenizer::from_hf_file(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string text = read_text(path);
  const fs::path cfg = fs::path(path).parent_path() / "tokenizer_config.json";
  std::string cfg_text;
  if (fs::exists(cfg)) cfg_text = read_text(cfg.string());
  return from_hf_json(text, cfg_text);
}

}  // namespace slm::tok
