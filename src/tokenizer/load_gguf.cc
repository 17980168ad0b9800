// Tokenizer from GGUF metadata (tokenizer.ggml.*), as llama.cpp reads it: model llama (SPM), gpt2
// (byte-level BPE) or bert (WordPiece).
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/presets.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {

namespace {

const gguf::Array& need_array(const gguf::File& f, std::string_view key, gguf::ValueType elem) {
  const gguf::Array* a = f.get_array(key);
  if (!a) fail("[tokenizer] GGUF key '{}' missing", key);
  if (a->elem_type != elem)
    fail("[tokenizer] GGUF key '{}': expected array of {}, got array of {}", key, gguf::value_type_name(elem),
         gguf::value_type_name(a->elem_type));
  return *a;
}

std::vector<std::string> string_array(const gguf::File& f, std::string_view key) {
  const gguf::Array& a = need_array(f, key, gguf::ValueType::string);
  std::vector<std::string> out;
  out.reserve(a.items.size());
  for (const gguf::Value& v : a.items) {
    const auto* s = std::get_if<std::string>(&v.data);
    if (!s) fail("[tokenizer] GGUF key '{}': item {} is not a string", key, out.size());
    out.push_back(*s);
  }
  return out;
}

TokenId id_key(const gguf::File& f, std::string_view key, TokenId def) {
  const auto v = f.get_int(key);
  if (!v) return def;
  if (*v < 0 || *v > INT32_MAX) return kNoToken;  // some converters write -1 / UINT32_MAX for "none"
  return TokenId(*v);
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::File& f) {
  TokenizerSpec s;
  const std::string model = f.get_string("tokenizer.ggml.model").value_or("");
  if (model.empty()) fail("[tokenizer] GGUF has no tokenizer.ggml.model");
  s.tokens = string_array(f, "tokenizer.ggml.tokens");
  const size_t n = s.tokens.size();
  if (f.find("tokenizer.ggml.scores")) {
    const gguf::Array& a = need_array(f, "tokenizer.ggml.scores", gguf::ValueType::f32);
    if (a.items.size() != n) fail("[tokenizer] GGUF: {} scores for {} tokens", a.items.size(), n);
    s.scores.reserve(n);
    for (const gguf::Value& v : a.items) s.scores.push_back(std::get<float>(v.data));
  }
  if (f.find("tokenizer.ggml.token_type")) {
    const gguf::Array& a = need_array(f, "tokenizer.ggml.token_type", gguf::ValueType::i32);
    if (a.items.size() != n) fail("[tokenizer] GGUF: {} token types for {} tokens", a.items.size(), n);
    s.types.reserve(n);
    for (const gguf::Value& v : a.items) {
      const int32_t t = std::get<int32_t>(v.data);
      s.types.push_back(t >= 0 && t <= 6 ? TokenType(t) : TokenType::normal);
    }
  }
  s.pre = f.get_string("tokenizer.ggml.pre").value_or("default");

  const bool space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  if (model == "llama") {
    s.kind = ModelKind::spm;
    s.byte_fallback = true;
    if (space_prefix) s.normalizers.push_back({NormStep::Kind::prepend, " ", ""});
    s.normalizers.push_back({NormStep::Kind::replace, " ", "\xE2\x96\x81"});
    s.decode_strip_space = space_prefix;
    s.bos = 1, s.eos = 2, s.unk = 0;
    s.add_bos = true;
  } else if (model == "gpt2") {
    s.kind = ModelKind::bpe;
    s.byte_level = true;
    s.pre_steps = pre_steps_for(s.pre, &s.ignore_merges);
    s.add_bos = s.ignore_merges;  // the Llama 3 family starts with <|begin_of_text|>
    if (f.find("tokenizer.ggml.merges")) {
      for (const std::string& m : string_array(f, "tokenizer.ggml.merges")) {
        const size_t sp = m.find(' ', 1);
        if (sp == std::string::npos) fail("[tokenizer] GGUF merge '{}' has no separating space", m);
        s.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
      }
    }
  } else if (model == "bert") {
    s.kind = ModelKind::wordpiece;
    s.normalizers = {{NormStep::Kind::fold_to_base, "", ""}, {NormStep::Kind::bert_clean, "", ""},
                     {NormStep::Kind::lowercase, "", ""}};
    s.pre_steps = {PreStep{.kind = PreStep::Kind::bert, .pattern = ""}};
    s.decode_strip_space = true;
    s.bos = 101, s.eos = 102, s.unk = 100, s.pad = 0;
    s.add_bos = s.add_eos = true;
  } else {
    fail("[tokenizer] GGUF tokenizer model '{}' is not supported (llama, gpt2, bert are)", model);
  }

  s.bos = id_key(f, "tokenizer.ggml.bos_token_id", s.bos);
  s.eos = id_key(f, "tokenizer.ggml.eos_token_id", s.eos);
  s.eot = id_key(f, "tokenizer.ggml.eot_token_id", kNoToken);
  s.unk = id_key(f, "tokenizer.ggml.unknown_token_id", s.unk);
  s.pad = id_key(f, "tokenizer.ggml.padding_token_id", s.pad);
  s.sep = id_key(f, "tokenizer.ggml.seperator_token_id", kNoToken);
  if (model == "bert") {
    s.bos = id_key(f, "tokenizer.ggml.cls_token_id", s.bos);
    if (s.sep != kNoToken) s.eos = s.sep;
  }
  s.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(s.add_bos);
  s.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(s.add_eos);
  for (TokenId* id : {&s.bos, &s.eos, &s.eot, &s.unk, &s.pad, &s.sep})
    if (*id >= TokenId(n)) *id = kNoToken;
  s.chat_template = f.get_string("tokenizer.chat_template").value_or("");

  // Control and unknown tokens are recognised in text only with parse_special; user-defined ones always.
  for (size_t id = 0; id < s.types.size(); ++id) {
    const TokenType t = s.types[id];
    if (t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown)
      s.added.push_back({TokenId(id), s.tokens[id], t != TokenType::user_defined, false, false});
  }
  detect_eog(s);
  return Tokenizer(std::move(s));
}

}  // namespace slm::tok
