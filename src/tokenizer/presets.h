// Named pre-tokenizers of byte-level BPE models (GGUF tokenizer.ggml.pre) and special-token conventions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/spec.h"

namespace slm::tok {

// The regex split steps for a GGUF `tokenizer.ggml.pre` name ("llama-bpe", "qwen2", "gpt-2", ...), as
// llama.cpp applies them; sets *ignore_merges for the Llama 3 family. Throws slm::Error for an unknown name.
std::vector<PreStep> pre_steps_for(std::string_view pre, bool* ignore_merges);
// Names pre_steps_for() knows, for error messages and tests.
const std::vector<std::string>& known_pre_names();

// GPT-2's own pattern (Hugging Face ByteLevel with use_regex).
extern const char* const kGpt2Pattern;

// Texts of tokens that end a generation when they are control tokens (<|eot_id|>, <|im_end|>, ...).
const std::vector<std::string>& eog_token_texts();
// Fills spec.eog from eog_token_texts() among control tokens, and spec.eot when unset.
void detect_eog(TokenizerSpec& spec);

}  // namespace slm::tok
