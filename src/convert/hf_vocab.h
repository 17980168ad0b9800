// Hugging Face tokenizer files -> GGUF tokenizer.* metadata (and a GGUF byte-level BPE vocabulary back
// to tokenizer.json), with the token types, merges and special ids llama.cpp's converter writes.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "io/gguf.h"

namespace slm::convert {

struct HfVocabInput {
  nlohmann::json tokenizer;         // tokenizer.json (required)
  nlohmann::json tokenizer_config;  // tokenizer_config.json, or null
  nlohmann::json config;            // config.json, or null (vocab_size and *_token_id fallbacks)
  std::string pre;                  // forces tokenizer.ggml.pre; "" = detect from the pre-tokenizer
  std::optional<std::string> chat_template;  // overrides tokenizer_config.json's
};

// tokenizer.ggml.model is "gpt2" for byte-level BPE and "llama" for SentencePiece-style BPE with byte
// fallback (Llama 2 / Mistral tokenizer.json). Throws slm::Error for other models (Unigram, WordPiece)
// and for a byte-level pre-tokenizer it cannot name (pass `pre` then).
std::vector<gguf::KeyValue> vocab_from_hf(const HfVocabInput& in);

// GGUF pre-tokenizer name for a tokenizer.json pre_tokenizer ("llama-bpe", "qwen2", "smollm", "gpt-2");
// "" when the regexes match no known name.
std::string detect_pre(const nlohmann::json& pre_tokenizer);

// Reads a JSON file; `required` false gives null for a missing file. Bad JSON throws slm::Error.
nlohmann::json read_json_file(const std::string& path, bool required);

// A GGUF "gpt2" vocabulary as tokenizer.json + tokenizer_config.json text; nullopt when the vocabulary
// cannot be written that way (SentencePiece "llama" vocabularies, unknown pre-tokenizer names).
struct HfTokenizerFiles {
  nlohmann::json tokenizer, tokenizer_config;
};
std::optional<HfTokenizerFiles> vocab_to_hf(const gguf::File& g);

}  // namespace slm::convert
