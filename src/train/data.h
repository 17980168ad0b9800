// Training data: JSONL records ({"prompt", "completion"}, {"messages": [...]} through the chat template,
// {"text"}) or plain text, tokenised into sequences whose loss weights mask prompt and user tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/net.h"

namespace slm {
class ChatTemplate;
namespace tok {
class Tokenizer;
}
}  // namespace slm

namespace slm::train {

struct DataOptions {
  int seq_len = 256;        // tokens per sequence; longer records are truncated (and reported)
  bool strict = false;      // a bad record throws instead of being skipped
  bool pack = false;        // concatenate records into full seq_len windows
  const ChatTemplate* chat = nullptr;  // for {"messages"} records
};

struct Dataset {
  std::vector<Sequence> seqs;
  std::vector<std::string> problems;  // "file:line: why" for every skipped or truncated record
  size_t n_records = 0, n_skipped = 0;
  size_t n_tokens() const;
  size_t n_loss_tokens() const;
};

// *.jsonl files are read as records; any other file as plain text (all tokens count, packed in windows).
Dataset load_data(const std::string& path, const tok::Tokenizer& tok, const DataOptions& opt);

// Token ids and per-token loss weights -> a next-token sequence (the weight of target i is weights[i + 1]).
Sequence make_sequence(const std::vector<int32_t>& ids, const std::vector<float>& weights);

// A seeded permutation of [0, n) for epoch `epoch` (the same for a resumed run).
std::vector<size_t> epoch_order(size_t n, uint64_t seed, uint64_t epoch);

}  // namespace slm::train
