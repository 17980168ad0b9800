// Tokenizer: text <-> token ids for SentencePiece-style BPE, byte-level BPE and WordPiece vocabularies,
// loaded from GGUF metadata, Hugging Face tokenizer.json, or the native files (tokenizer.model,
// encoder.json + vocab.bpe, *.tiktoken). Encoding follows llama.cpp for GGUF vocabularies and
// Hugging Face tokenizers for tokenizer.json.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/spec.h"

namespace slm::gguf {
class File;
}

namespace slm::tok {

struct EncodeOptions {
  bool add_special = true;     // BOS/EOS (or CLS/SEP) as the model's flags say
  bool parse_special = false;  // recognise special (control) tokens written in the text
};

struct DecodeOptions {
  bool special = false;      // render control tokens (<|eot_id|>) instead of dropping them
  bool strip_space = true;   // drop the leading space an SPM dummy prefix adds
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerSpec spec);  // validates; throws slm::Error on inconsistent data

  // Loaders. load() picks by content: GGUF magic, JSON (tokenizer.json), SentencePiece protobuf,
  // tiktoken ranks; a directory means its tokenizer.json.
  static Tokenizer load(const std::string& path);
  static Tokenizer from_gguf(const gguf::File& f);
  // tokenizer.json text plus, optionally, tokenizer_config.json text ("" when absent).
  static Tokenizer from_hf_json(std::string_view tokenizer_json, std::string_view config_json = {});
  static Tokenizer from_hf_file(const std::string& tokenizer_json_path);  // reads tokenizer_config.json beside it
  static Tokenizer from_spm_model(const std::string& path);              // SentencePiece tokenizer.model
  // GPT-2 layout: encoder.json (token -> id) and vocab.bpe (merges); `pre` names the pre-tokenizer.
  static Tokenizer from_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe,
                                   const std::string& pre);
  // tiktoken ranks file ("<base64> <rank>" lines) with the byte-level pre-tokenizer `pre`; `specials`
  // are appended after the ranks in order.
  static Tokenizer from_tiktoken(const std::string& path, const std::string& pre,
                                 const std::vector<std::string>& specials = {});

  std::vector<TokenId> encode(std::string_view text, EncodeOptions opt = {}) const;
  std::string decode(std::span<const TokenId> ids, DecodeOptions opt = {}) const;
  // The bytes one token stands for (byte tokens and the byte-level alphabet resolved; SPM's U+2581
  // becomes ' '). Control tokens give "" unless `special`. Out-of-range ids throw slm::Error.
  std::string token_to_piece(TokenId id, bool special = false) const;

  int n_vocab() const;
  const std::string& token_text(TokenId id) const;  // as the vocabulary stores it
  TokenType token_type(TokenId id) const;
  TokenId find_token(std::string_view text) const;  // kNoToken when absent
  ModelKind kind() const;
  const std::string& pre() const;
  TokenId bos() const;
  TokenId eos() const;
  TokenId eot() const;
  TokenId unk() const;
  TokenId pad() const;
  bool add_bos() const;
  bool add_eos() const;
  bool is_eog(TokenId id) const;  // eos, eot or another end-of-generation token
  const std::string& chat_template() const;
  const TokenizerSpec& spec() const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

// Streams text out of generated ids: push() returns only whole UTF-8 characters; bytes of a character
// split across tokens wait for the rest. flush() returns what is left (ill-formed bytes as U+FFFD).
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tok, DecodeOptions opt = {}) : tok_(&tok), opt_(opt) {}
  std::string push(TokenId id);
  std::string flush();

 private:
  const Tokenizer* tok_;
  DecodeOptions opt_;
  std::string pending_;
  bool first_ = true;
};

}  // namespace slm::tok
