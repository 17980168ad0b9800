// A trained byte-level BPE vocabulary as files: Hugging Face tokenizer.json + tokenizer_config.json, and
// GGUF tokenizer.ggml.* metadata (model "gpt2"). Both name the same pre-tokenizer regex, so the two load
// into tokenizers that encode alike.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/presets.h"

namespace slm::tok {

using ojson = nlohmann::ordered_json;
using gguf::Value;

std::string bpe_gguf_pre(std::string_view pre) {
  if (pre == "gpt2") return "gpt-2";
  if (pre == "llama3") return "llama-bpe";
  if (pre == "qwen2") return "qwen2";
  fail("[bpe-train] unknown pre-tokenizer '{}'", pre);
}

namespace {

// The pattern and ignore_merges flag the GGUF pre name gives, written into tokenizer.json too.
std::pair<std::string, bool> pre_of(const BpeVocab& v) {
  bool ignore_merges = false;
  std::string pattern = pre_steps_for(bpe_gguf_pre(v.pre), &ignore_merges).at(0).pattern;
  // GGUF's gpt-2 pattern leaves lone whitespace unmatched (llama.cpp keeps the gap as a word);
  // Hugging Face's GPT-2 pattern (ByteLevel's use_regex) matches it with a final \s+. The words are the same.
  return {pattern, ignore_merges};
}

ojson special_ref(const BpeVocab& v, TokenId id) {
  return ojson{{"id", v.tokens[id]}, {"ids", {id}}, {"tokens", {v.tokens[id]}}};
}

ojson post_processor(const BpeVocab& v) {
  if (v.bos == kNoToken) return nullptr;
  const std::string& b = v.tokens[v.bos];
  auto special = [&](int type_id) { return ojson{{"SpecialToken", {{"id", b}, {"type_id", type_id}}}}; };
  auto seq = [](const char* id, int type_id) { return ojson{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
  return ojson{{"type", "TemplateProcessing"},
               {"single", {special(0), seq("A", 0)}},
               {"pair", {special(0), seq("A", 0), special(1), seq("B", 1)}},
               {"special_tokens", {{b, special_ref(v, v.bos)}}}};
}

}  // namespace

std::string bpe_hf_tokenizer_json(const BpeVocab& v) {
  const auto [pattern, ignore_merges] = pre_of(v);
  ojson added = ojson::array();
  for (int id = 0; id < v.n_special; ++id)
    added.push_back({{"id", id}, {"content", v.tokens[id]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  // Token texts are distinct (the trainer reuses the id of a text it has); appending to the underlying
  // vector keeps id order without ordered_map's linear search per insert.
  ojson vocab = ojson::object();
  auto& entries = static_cast<std::vector<std::pair<const std::string, ojson>>&>(vocab.get_ref<ojson::object_t&>());
  entries.reserve(v.tokens.size());
  for (size_t id = 0; id < v.tokens.size(); ++id) entries.emplace_back(v.tokens[id], id);
  ojson merges = ojson::array();
  for (const auto& [a, b] : v.merges) merges.push_back(a + " " + b);
  const ojson byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                            {"use_regex", false}};
  // GPT-2's pattern is ByteLevel's own (use_regex), the form GPT-2's tokenizer.json has and converters know.
  ojson pre_tokenizer = byte_level;
  if (v.pre == "gpt2") pre_tokenizer["use_regex"] = true;
  else
    pre_tokenizer = {{"type", "Sequence"},
                     {"pretokenizers",
                      {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
                       byte_level}}};
  ojson j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", pre_tokenizer},
      {"post_processor", post_processor(v)},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
        {"ignore_merges", ignore_merges}, {"vocab", vocab}, {"merges", merges}}},
  };
  return j.dump(2) + "\n";
}

std::string bpe_hf_config_json(const BpeVocab& v) {
  auto text = [&](TokenId id) { return id == kNoToken ? ojson(nullptr) : ojson(v.tokens[id]); };
  ojson decoder = ojson::object();
  for (int id = 0; id < v.n_special; ++id)
    decoder[std::to_string(id)] = {{"content", v.tokens[id]}, {"lstrip", false}, {"normalized", false},
                                   {"rstrip", false}, {"single_word", false}, {"special", true}};
  ojson j = {{"add_bos_token", v.bos != kNoToken},
             {"add_eos_token", false},
             {"added_tokens_decoder", decoder},
             {"bos_token", text(v.bos)},
             {"eos_token", text(v.eos)},
             {"pad_token", text(v.pad)},
             {"unk_token", nullptr},
             {"clean_up_tokenization_spaces", false},
             {"model_max_length", 1000000000000000019884624838656.0},
             {"tokenizer_class", "PreTrainedTokenizerFast"}};
  if (!v.chat_template.empty()) j["chat_template"] = v.chat_template;
  return j.dump(2) + "\n";
}

gguf::Writer bpe_gguf_vocab(const BpeVocab& v) {
  gguf::Writer w;
  auto strings = [](auto&& items) {
    gguf::Array a{gguf::ValueType::string, {}};
    a.items.reserve(items.size());
    for (const auto& s : items) a.items.push_back(Value{std::string(s)});
    return a;
  };
  gguf::Array types{gguf::ValueType::i32, {}};
  for (size_t id = 0; id < v.tokens.size(); ++id)
    types.items.push_back(Value{int32_t(int(id) < v.n_special ? TokenType::control : TokenType::normal)});
  std::vector<std::string> merges;
  merges.reserve(v.merges.size());
  for (const auto& [a, b] : v.merges) merges.push_back(a + " " + b);
  w.add_kv("general.name", Value{std::string("slm byte-level BPE")});
  w.add_kv("tokenizer.ggml.model", Value{std::string("gpt2")});
  w.add_kv("tokenizer.ggml.pre", Value{bpe_gguf_pre(v.pre)});
  w.add_kv("tokenizer.ggml.tokens", Value{strings(v.tokens)});
  w.add_kv("tokenizer.ggml.token_type", Value{std::move(types)});
  w.add_kv("tokenizer.ggml.merges", Value{strings(merges)});
  if (v.bos != kNoToken) w.add_kv("tokenizer.ggml.bos_token_id", Value{uint32_t(v.bos)});
  if (v.eos != kNoToken) w.add_kv("tokenizer.ggml.eos_token_id", Value{uint32_t(v.eos)});
  if (v.pad != kNoToken) w.add_kv("tokenizer.ggml.padding_token_id", Value{uint32_t(v.pad)});
  w.add_kv("tokenizer.ggml.add_bos_token", Value{v.bos != kNoToken});
  w.add_kv("tokenizer.ggml.add_eos_token", Value{false});
  if (!v.chat_template.empty()) w.add_kv("tokenizer.chat_template", Value{v.chat_template});
  return w;
}

}  // namespace slm::tok
