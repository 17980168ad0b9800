// Glue between generation and the tokenizer: streaming decoders, end-of-generation ids, and a reader for
// llama2.c's tokenizer.bin (the vocabulary that goes with its .bin checkpoints).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "tokenizer/tokenizer.h"

namespace slm::runtime {

// Decoders over tok::IncrementalDecoder (whole UTF-8 characters only). `tok` must outlive them.
// strip_space drops the SPM dummy-prefix space of the first piece: right when generation starts from BOS
// alone, wrong when it continues a prompt.
DecoderFactory tokenizer_decoder(const tok::Tokenizer& tok, bool strip_space);

// Every id the vocabulary marks as ending a generation (EOS, EOT and the like), ascending.
std::vector<int32_t> eog_tokens(const tok::Tokenizer& tok);

// llama2.c tokenizer.bin: int32 max_token_length, then per token {float32 score, int32 length, bytes}.
// Ids 0..2 are <unk>, BOS, EOS; "<0xNN>" tokens are bytes. Gives an SPM spec like a GGUF "llama" vocab.
// Throws slm::Error("[tokenizer] <path>: ...") on a malformed file.
tok::TokenizerSpec llama2c_tokenizer_spec(const std::string& path);

// The tokenizer for `model`: from `tokenizer_path` when given (a llama2.c tokenizer.bin, or anything
// tok::Tokenizer::load reads), else from the model's GGUF; nullopt for a llama2.c checkpoint without one.
std::optional<tok::Tokenizer> load_tokenizer(const model::Model& model, const std::string& tokenizer_path);

}  // namespace slm::runtime
