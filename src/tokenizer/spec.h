// TokenizerSpec: everything a tokenizer is, as plain data. Loaders (GGUF, tokenizer.json, native files)
// fill one; Tokenizer compiles it. Tests build small ones by hand.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace slm::tok {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// Token types as GGUF (and SentencePiece) number them.
enum class TokenType : uint8_t { undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4,
                                 unused = 5, byte = 6 };

enum class ModelKind : uint8_t {
  spm,        // merges chosen by the score of the merged token (SentencePiece BPE, tiktoken ranks)
  bpe,        // merges chosen by their rank in a merge list (GPT-2, Hugging Face BPE)
  wordpiece,  // greedy longest match (BERT)
};

// One normalisation step, applied to each stretch of text between added tokens.
struct NormStep {
  enum class Kind : uint8_t {
    nfc, nfd, nfkc, nfkd, lowercase, strip_accents,
    fold_to_base,   // each precomposed character becomes the first code point of its NFD (llama.cpp's BERT)
    prepend,        // a + text, when text is not empty
    prepend_first,  // a + text, only for the first stretch of the input (Metaspace prepend_scheme "first")
    replace,        // every a becomes b (a literal string)
    bert_clean,     // BERT: drop NUL, U+FFFD and controls, turn whitespace into ' '
    bert_cjk,       // BERT: put spaces around CJK ideographs
  } kind;
  std::string a, b;
};

// One pre-tokenizer step, applied to every piece.
struct PreStep {
  enum class Kind : uint8_t {
    split,  // cut by `pattern` (regex unless literal) with behaviour/invert as in Hugging Face's Split
    bert,   // BERT: split on whitespace, isolate punctuation and symbols
  } kind = Kind::split;
  std::string pattern;
  bool literal = false;
  enum class Behavior : uint8_t { isolated, removed, merged_with_previous, merged_with_next, contiguous };
  Behavior behavior = Behavior::isolated;
  bool invert = false;
};

struct AddedToken {
  TokenId id = kNoToken;
  std::string content;
  bool special = true;  // special (control): matched only with parse_special; otherwise always
  bool lstrip = false;  // absorbs whitespace on its left
  bool rstrip = false;  // absorbs whitespace on its right
};

struct TokenizerSpec {
  ModelKind kind = ModelKind::bpe;
  std::string pre;                   // pre-tokenizer name (GGUF tokenizer.ggml.pre), for information
  std::vector<std::string> tokens;   // id -> text as the vocabulary stores it
  std::vector<float> scores;         // spm: merge priority (higher first); may be empty
  std::vector<TokenType> types;      // may be empty (all normal)
  std::vector<std::pair<std::string, std::string>> merges;  // bpe: highest priority first

  std::vector<NormStep> normalizers;
  std::vector<PreStep> pre_steps;
  bool byte_level = false;     // pieces are mapped through the GPT-2 byte alphabet before the model
  bool byte_fallback = false;  // unknown characters become <0xXX> byte tokens
  bool ignore_merges = false;  // a piece that is itself a token is emitted whole (Llama 3)
  // wordpiece: true when `tokens` mark continuations with "##" (Hugging Face); false when word starts
  // carry U+2581 and continuations are bare (GGUF, as llama.cpp's converter writes them).
  bool wordpiece_hf_form = false;

  std::vector<AddedToken> added;  // matched in text before the model runs (see AddedToken::special)

  TokenId bos = kNoToken, eos = kNoToken, eot = kNoToken, unk = kNoToken, pad = kNoToken, sep = kNoToken;
  std::vector<TokenId> eog;  // extra end-of-generation ids besides eos/eot
  bool add_bos = false, add_eos = false;
  bool decode_strip_space = false;  // decode drops one leading space (the SPM dummy prefix)
  std::string chat_template;        // as found in the source; empty when none
};

}  // namespace slm::tok
