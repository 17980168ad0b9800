// GGUF byte-level BPE vocabulary -> tokenizer.json + tokenizer_config.json (the inverse of vocab_from_hf
// for the pre-tokenizers it can name).
#include <algorithm>
#include <map>
#include <tuple>

#include "convert/hf_vocab.h"
#include "core/error.h"

namespace slm::convert {
namespace {

using json = nlohmann::json;

constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json split(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

// The tokenizer.json pre_tokenizer for a GGUF pre name; null when unknown.
json pre_tokenizer_for(const std::string& pre) {
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3")
    return {{"type", "Sequence"}, {"pretokenizers", json::array({split(kLlama3Regex), byte_level(false)})}};
  if (pre == "qwen2")
    return {{"type", "Sequence"}, {"pretokenizers", json::array({split(kQwen2Regex), byte_level(false)})}};
  if (pre == "smollm")
    return {{"type", "Sequence"},
            {"pretokenizers", json::array({json{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)})}};
  if (pre == "gpt-2" || pre == "gpt2") return byte_level(true);
  return nullptr;
}

// Byte offsets where UTF-8 characters of `s` start (excluding 0).
std::vector<size_t> char_starts(const std::string& s) {
  std::vector<size_t> v;
  for (size_t i = 1; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) v.push_back(i);
  return v;
}

// A SentencePiece vocabulary as Hugging Face's Llama tokenizer.json: BPE with byte fallback whose merges
// are every split of a normal token into two normal tokens, ranked by the merged token's score (higher
// first), which is the order the SentencePiece algorithm applies them.
json spm_tokenizer_json(const gguf::File& g, const gguf::Array& tokens, const gguf::Array& types, const gguf::Array& scores) {
  const size_t n = tokens.items.size();
  auto text = [&](size_t i) -> const std::string& { return std::get<std::string>(tokens.items[i].data); };
  auto type = [&](size_t i) { return std::get<int32_t>(types.items[i].data); };
  std::map<std::string, size_t> normal;
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < n; ++i) {
    vocab[text(i)] = i;
    if (type(i) == 1) normal.emplace(text(i), i);
    if (type(i) == 2 || type(i) == 3 || type(i) == 4)
      added.push_back({{"id", i}, {"content", text(i)}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", type(i) == 4}, {"special", type(i) != 4}});
  }
  struct Merge {
    float score;
    size_t id, a, b;
  };
  std::vector<Merge> merges;
  for (const auto& [t, id] : normal) {
    for (size_t k : char_starts(t)) {
      const auto a = normal.find(t.substr(0, k)), b = normal.find(t.substr(k));
      if (a != normal.end() && b != normal.end())
        merges.push_back({std::get<float>(scores.items[id].data), id, a->second, b->second});
    }
  }
  std::sort(merges.begin(), merges.end(), [](const Merge& x, const Merge& y) {
    if (x.score != y.score) return x.score > y.score;
    return std::tie(x.id, x.a, x.b) < std::tie(y.id, y.a, y.b);
  });
  json merge_list = json::array();
  for (const Merge& m : merges) merge_list.push_back(json::array({text(m.a), text(m.b)}));
  const bool space_prefix = g.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  const std::string sp = "\xE2\x96\x81";  // U+2581, SentencePiece's space
  json norms = json::array();
  if (space_prefix) norms.push_back({{"type", "Prepend"}, {"prepend", sp}});
  norms.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}});
  json decoders = json::array({json{{"type", "Replace"}, {"pattern", {{"String", sp}}}, {"content", " "}},
                               json{{"type", "ByteFallback"}}, json{{"type", "Fuse"}}});
  if (space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  json tj;
  tj["version"] = "1.0";
  tj["truncation"] = nullptr;
  tj["padding"] = nullptr;
  tj["added_tokens"] = added;
  tj["normalizer"] = {{"type", "Sequence"}, {"normalizers", norms}};
  tj["pre_tokenizer"] = nullptr;
  tj["post_processor"] = nullptr;
  const auto bos = g.get_uint("tokenizer.ggml.bos_token_id");
  if (bos && *bos < n && g.get_bool("tokenizer.ggml.add_bos_token").value_or(true)) {
    const std::string b = text(*bos);
    tj["post_processor"] = {{"type", "TemplateProcessing"},
                            {"single", json::array({json{{"SpecialToken", {{"id", b}, {"type_id", 0}}}},
                                                    json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                            {"pair", json::array({json{{"SpecialToken", {{"id", b}, {"type_id", 0}}}},
                                                  json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                                  json{{"SpecialToken", {{"id", b}, {"type_id", 1}}}},
                                                  json{{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
                            {"special_tokens", {{b, {{"id", b}, {"ids", json::array({*bos})}, {"tokens", json::array({b})}}}}}};
  }
  tj["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  const auto unk = g.get_uint("tokenizer.ggml.unknown_token_id");
  tj["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", unk && *unk < n ? json(text(*unk)) : json(nullptr)},
                 {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", true},
                 {"byte_fallback", true}, {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}};
  return tj;
}

json tokenizer_config_for(const gguf::File& g, const gguf::Array& tokens, const char* cls) {
  json tc{{"tokenizer_class", cls}, {"clean_up_tokenization_spaces", false}};
  auto text_of = [&](const char* key) -> std::optional<std::string> {
    const auto id = g.get_uint(key);
    if (!id || *id >= tokens.items.size()) return std::nullopt;
    return std::get<std::string>(tokens.items[*id].data);
  };
  for (const auto& [k, key] : {std::pair{"bos_token", "tokenizer.ggml.bos_token_id"},
                               std::pair{"eos_token", "tokenizer.ggml.eos_token_id"},
                               std::pair{"unk_token", "tokenizer.ggml.unknown_token_id"},
                               std::pair{"pad_token", "tokenizer.ggml.padding_token_id"}})
    if (const auto t = text_of(key)) tc[k] = *t;
  if (const auto v = g.get_bool("tokenizer.ggml.add_bos_token")) tc["add_bos_token"] = *v;
  if (const auto v = g.get_bool("tokenizer.ggml.add_eos_token")) tc["add_eos_token"] = *v;
  if (const auto t = g.get_string("tokenizer.chat_template")) tc["chat_template"] = *t;
  return tc;
}

}  // namespace

std::optional<HfTokenizerFiles> vocab_to_hf(const gguf::File& g) {
  const std::string model = g.get_string("tokenizer.ggml.model").value_or("");
  if (model == "llama") {
    const gguf::Array* tokens = g.get_array("tokenizer.ggml.tokens");
    const gguf::Array* types = g.get_array("tokenizer.ggml.token_type");
    const gguf::Array* scores = g.get_array("tokenizer.ggml.scores");
    if (!tokens || !types || !scores || tokens->elem_type != gguf::ValueType::string ||
        types->elem_type != gguf::ValueType::i32 || scores->elem_type != gguf::ValueType::f32 ||
        types->items.size() != tokens->items.size() || scores->items.size() != tokens->items.size())
      return std::nullopt;
    return HfTokenizerFiles{spm_tokenizer_json(g, *tokens, *types, *scores),
                            tokenizer_config_for(g, *tokens, "LlamaTokenizerFast")};
  }
  if (model != "gpt2") return std::nullopt;
  const std::string pre = g.get_string("tokenizer.ggml.pre").value_or("gpt-2");
  const json pre_tok = pre_tokenizer_for(pre);
  if (pre_tok.is_null()) return std::nullopt;
  const gguf::Array* tokens = g.get_array("tokenizer.ggml.tokens");
  const gguf::Array* types = g.get_array("tokenizer.ggml.token_type");
  const gguf::Array* merges = g.get_array("tokenizer.ggml.merges");
  if (!tokens || tokens->elem_type != gguf::ValueType::string) return std::nullopt;
  if (types && (types->elem_type != gguf::ValueType::i32 || types->items.size() != tokens->items.size())) return std::nullopt;

  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens->items.size(); ++i) {
    const std::string& t = std::get<std::string>(tokens->items[i].data);
    const int32_t type = types ? std::get<int32_t>(types->items[i].data) : 1;
    if (type == 5 && t.starts_with("[PAD")) continue;  // ids the tokenizer does not define
    if (type == 3 || type == 4)
      added.push_back({{"id", i}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", type == 4}, {"special", type == 3}});
    vocab[t] = i;
  }
  json merge_list = json::array();
  if (merges && merges->elem_type == gguf::ValueType::string)
    for (const gguf::Value& m : merges->items) merge_list.push_back(std::get<std::string>(m.data));

  json tj;
  tj["version"] = "1.0";
  tj["truncation"] = nullptr;
  tj["padding"] = nullptr;
  tj["added_tokens"] = added;
  tj["normalizer"] = pre == "qwen2" ? json{{"type", "NFC"}} : json(nullptr);
  tj["pre_tokenizer"] = pre_tok;
  tj["post_processor"] = byte_level(false);
  tj["decoder"] = byte_level(true);
  tj["model"] = {{"type", "BPE"},         {"dropout", nullptr},       {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", false},
                 {"byte_fallback", false}, {"ignore_merges", pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3"},
                 {"vocab", vocab},        {"merges", merge_list}};

  json tc = tokenizer_config_for(g, *tokens, "PreTrainedTokenizerFast");
  return HfTokenizerFiles{std::move(tj), std::move(tc)};
}

}  // namespace slm::convert
