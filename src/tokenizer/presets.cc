// Named pre-tokenizers of byte-level BPE models (GGUF tokenizer.ggml.pre) and special-token conventions.
// The patterns are the published ones from each model's tokenizer.json, in the split sequence llama.cpp uses.
#include "tokenizer/presets.h"

#include <algorithm>

#include "core/error.h"

namespace slm::tok {

const char* const kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

// Llama 3 with the case-insensitive contractions spelled out, so that Unicode case folding
// (e.g. U+017F LATIN SMALL LETTER LONG S) cannot match 's.
constexpr const char* kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?"
    "[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?"
    "[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt2NoTail = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373"
    "\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f"
    "\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77"
    "\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d"
    "\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4"
    "\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d"
    "\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a"
    "\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2"
    "\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+";
constexpr const char* kDeepseekPunct = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
constexpr const char* kCjkHangul = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

PreStep split(const char* pattern) { return PreStep{.kind = PreStep::Kind::split, .pattern = pattern}; }

struct Preset {
  std::vector<std::string> names;
  std::vector<const char*> patterns;
  bool ignore_merges = false;
};

const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = {
      {{"llama3", "llama-v3", "llama-bpe", "falcon3"}, {kLlama3}, true},
      {{"dbrx", "smaug-bpe"}, {kLlama3}, false},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"}, {kQwen2}, false},
      {{"gpt-2", "gpt2", "mpt", "olmo", "jais", "phi-2", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en",
        "jina-v2-es", "jina-v2-de", "jina-v2-code", "gigachat"},
       {kGpt2NoTail}, false},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
       {"\\p{N}", kGpt2NoTail}, false},
      {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2NoTail, "[0-9][0-9][0-9]"}, false},
      {{"deepseek-llm"}, {"[\\r\\n]", kDeepseekLlmLetters, kDeepseekPunct, "\\s+$", kCjkHangul, "\\p{N}+"}, false},
      {{"deepseek-coder"}, {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjkHangul, "\\p{N}"}, false},
      {{"default", ""}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2NoTail, "\\p{N}+", "[0-9][0-9][0-9]"}, false},
  };
  return p;
}

}  // namespace

const std::vector<std::string>& known_pre_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Preset& p : presets()) v.insert(v.end(), p.names.begin(), p.names.end());
    return v;
  }();
  return names;
}

std::vector<PreStep> pre_steps_for(std::string_view pre, bool* ignore_merges) {
  for (const Preset& p : presets()) {
    if (std::find(p.names.begin(), p.names.end(), pre) == p.names.end()) continue;
    std::vector<PreStep> steps;
    for (const char* pat : p.patterns) steps.push_back(split(pat));
    if (ignore_merges) *ignore_merges = p.ignore_merges;
    return steps;
  }
  std::string known;
  for (const std::string& n : known_pre_names())
    if (!n.empty()) known += (known.empty() ? "" : ", ") + n;
  fail("[tokenizer] unknown pre-tokenizer '{}' (known: {})", pre, known);
}

const std::vector<std::string>& eog_token_texts() {
  static const std::vector<std::string> t = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
      "<|end_of_text|>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
  return t;
}

void detect_eog(TokenizerSpec& spec) {
  for (size_t id = 0; id < spec.tokens.size(); ++id) {
    if (spec.types.size() == spec.tokens.size() && spec.types[id] != TokenType::control) continue;
    const auto& texts = eog_token_texts();
    if (std::find(texts.begin(), texts.end(), spec.tokens[id]) == texts.end()) continue;
    if (std::find(spec.eog.begin(), spec.eog.end(), TokenId(id)) == spec.eog.end()) spec.eog.push_back(TokenId(id));
    const std::string& t = spec.tokens[id];
    if (spec.eot == kNoToken && (t == "<|eot_id|>" || t == "<|im_end|>" || t == "<end_of_turn>" || t == "<|end|>"))
      spec.eot = TokenId(id);
  }
}

}  // namespace slm::tok
