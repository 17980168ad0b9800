// GGUF byte-level BPE vocabulary -> tokenizer.json + tokenizer_config.json (the inverse of vocab_from_hf
// for the pre-tokenizers it can name).
#include <map>

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

}  // namespace

std::optional<HfTokenizerFiles> vocab_to_hf(const gguf::File& g) {
  if (g.get_string("tokenizer.ggml.model").value_or("") != "gpt2") return std::nullopt;
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

  json tc{{"tokenizer_class", "PreTrainedTokenizerFast"}, {"clean_up_tokenization_spaces", false}};
  auto text_of = [&](const char* key) -> std::optional<std::string> {
    const auto id = g.get_uint(key);
    if (!id || *id >= tokens->items.size()) return std::nullopt;
    return std::get<std::string>(tokens->items[*id].data);
  };
  for (const auto& [k, key] : {std::pair{"bos_token", "tokenizer.ggml.bos_token_id"},
                               std::pair{"eos_token", "tokenizer.ggml.eos_token_id"},
                               std::pair{"unk_token", "tokenizer.ggml.unknown_token_id"},
                               std::pair{"pad_token", "tokenizer.ggml.padding_token_id"}})
    if (const auto t = text_of(key)) tc[k] = *t;
  if (const auto v = g.get_bool("tokenizer.ggml.add_bos_token")) tc["add_bos_token"] = *v;
  if (const auto v = g.get_bool("tokenizer.ggml.add_eos_token")) tc["add_eos_token"] = *v;
  if (const auto t = g.get_string("tokenizer.chat_template")) tc["chat_template"] = *t;
  return HfTokenizerFiles{std::move(tj), std::move(tc)};
}

}  // namespace slm::convert
