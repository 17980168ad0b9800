// Byte-level BPE training (GPT-2 style): a pre-tokenizer regex cuts text into words, words are counted,
// and the most frequent adjacent pair of tokens is merged until the vocabulary is full. The result is
// written as Hugging Face tokenizer.json + tokenizer_config.json, or as GGUF tokenizer.ggml.* metadata.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "tokenizer/spec.h"

namespace slm::tok {

// The special tokens a trained vocabulary starts with when none are given: bos, eos, pad, ChatML markers.
const std::vector<std::string>& bpe_default_specials();
// Pre-tokenizers training knows: gpt2 (the default), llama3, qwen2.
const std::vector<std::string>& bpe_pre_names();

struct BpeTrainOptions {
  int vocab_size = 8192;      // special tokens + 256 byte tokens + merged tokens
  int64_t min_frequency = 2;  // a pair seen fewer times than this is never merged
  std::string pre = "gpt2";   // one of bpe_pre_names()
  std::vector<std::string> specials = bpe_default_specials();  // ids 0.. in this order
  // Roles of special tokens, by text ("" = none); each must be one of `specials`. add_bos follows bos.
  std::string bos = "<|begin_of_text|>", eos = "<|endoftext|>", pad = "<|pad|>";
  // Called now and then while merging: (tokens so far, target vocabulary size).
  std::function<void(int, int)> progress;
};

// A trained tokenizer. Token ids: the specials, then the 256 byte tokens (id = n_special + byte), then
// one token per merge (a merge whose text is already a token reuses it).
struct BpeVocab {
  std::string pre;                  // the BpeTrainOptions::pre it was trained with
  std::vector<std::string> tokens;  // id -> text: specials as given, others in the byte-level alphabet
  std::vector<std::pair<std::string, std::string>> merges;  // byte-level texts, highest priority first
  int n_special = 0;
  TokenId bos = kNoToken, eos = kNoToken, pad = kNoToken;
  std::string chat_template;  // ChatML when <|im_start|> and <|im_end|> are specials, else empty
};

struct BpeCorpusStats {
  uint64_t bytes = 0;       // text bytes read
  uint64_t words = 0;       // pre-tokenized words counted
  uint64_t distinct = 0;    // distinct words
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainOptions opt);  // throws slm::Error on bad options
  ~BpeTrainer();
  BpeTrainer(BpeTrainer&&) noexcept;
  BpeTrainer& operator=(BpeTrainer&&) noexcept;

  // Counts the words of `text` (ill-formed UTF-8 becomes U+FFFD; special-token texts are cut out).
  void add_text(std::string_view text);
  // A text file, read in blocks cut at line ends; with `jsonl_field`, a JSONL file whose records'
  // string field `jsonl_field` is the text. Missing files and bad records throw slm::Error naming file:line.
  void add_file(const std::string& path, const std::string& jsonl_field = {});
  BpeCorpusStats stats() const;
  // Runs the merges. Throws slm::Error when no text was added.
  BpeVocab train() const;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// Output formats. The JSON and GGUF forms load (Tokenizer::from_hf_json / from_gguf) into tokenizers
// that encode every text identically.
std::string bpe_hf_tokenizer_json(const BpeVocab& v);
std::string bpe_hf_config_json(const BpeVocab& v);
gguf::Writer bpe_gguf_vocab(const BpeVocab& v);  // tokenizer.* metadata only, no tensors
// The GGUF tokenizer.ggml.pre name for a training pre-tokenizer (gpt2 -> gpt-2, llama3 -> llama-bpe, ...).
std::string bpe_gguf_pre(std::string_view pre);

}  // namespace slm::tok
