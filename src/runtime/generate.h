// Generation: chunked prefill then batched decode for one or more sequences, with stop tokens, stop
// strings, streaming text pieces, log-probabilities, timings, and reuse of a cached common prefix.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "runtime/sampling.h"

namespace slm::runtime {

// Turns one sequence's ids into text, piece by piece, never splitting a UTF-8 character. A plug-in seam:
// the tokenizer's incremental decoder sits behind it, or IdDecoder when no vocabulary is at hand.
class PieceDecoder {
 public:
  virtual ~PieceDecoder() = default;
  virtual std::string push(int32_t id) = 0;  // the text that id completes (may be empty)
  virtual std::string flush() { return {}; }  // whatever is still held at the end
};
using DecoderFactory = std::function<std::unique_ptr<PieceDecoder>()>;

// Writes each id followed by a space ("12 7 300 ").
class IdDecoder : public PieceDecoder {
 public:
  std::string push(int32_t id) override;
};

enum class FinishReason { length, stop_token, stop_string, context_full, cancelled };
const char* finish_reason_name(FinishReason r);  // "length", "stop_token", ...

struct GenerationRequest {
  std::vector<int32_t> prompt;  // at least one token
  SamplingParams sampling;
  int max_tokens = 128;                   // tokens to sample; < 0: until the context is full
  std::vector<std::string> stop_strings;  // never emitted; may span tokens
  std::vector<int32_t> stop_tokens;       // e.g. the vocabulary's EOS/EOT; not emitted, not in `tokens`
  int n_logprobs = -1;                    // < 0: none; 0: the chosen token's; n: plus the n best
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // sampled ids, without a final stop token
  std::string text;             // everything streamed (stop strings and what follows them cut)
  std::vector<Sampled> logprobs;  // one per sampled id (stop token included) when asked
  FinishReason finish = FinishReason::length;
  std::string stop_string;        // which one matched, for stop_string
  int32_t stop_token = -1;        // which one, for stop_token
  int n_prompt = 0;               // prompt tokens
  int n_cached = 0;               // prompt tokens found in the cache and not recomputed
};

// One streamed piece. Return false from the callback to stop that sequence (FinishReason::cancelled).
struct StreamEvent {
  int index;              // request index
  int32_t token;          // the id just sampled
  std::string_view text;  // the text now safe to show (may be empty: held back or a stop token)
  const Sampled* logprobs;  // null unless asked
};
using StreamFn = std::function<bool(const StreamEvent&)>;

struct Timings {
  int n_prompt = 0;       // tokens run through prefill (cached ones excluded)
  double prompt_ms = 0;
  int n_gen = 0;          // tokens sampled
  double gen_ms = 0;      // decode forward passes and sampling, after prefill
  double prompt_tps() const { return prompt_ms > 0 ? n_prompt * 1000.0 / prompt_ms : 0.0; }
  double gen_tps() const { return gen_ms > 0 ? n_gen * 1000.0 / gen_ms : 0.0; }
};

struct GeneratorOptions {
  int n_seq = 1;       // sequences generated together at most
  int n_ctx = 0;       // per sequence; 0 = the model's context length
  model::KvType kv_type = model::KvType::f16;
  int prefill_chunk = 512;  // rows per forward call during prefill
};

// Owns the KV cache. Request i of a generate() call uses cache sequence i; what a sequence held from the
// previous call is kept up to the longest common prefix with the new prompt (a chat re-sends the whole
// conversation and only the new turn is computed).
class Generator {
 public:
  Generator(const model::Model& model, GeneratorOptions opt = {});

  std::vector<GenerationResult> generate(std::span<const GenerationRequest> requests,
                                         const DecoderFactory& make_decoder, const StreamFn& on_piece = {});
  GenerationResult generate(const GenerationRequest& request, const DecoderFactory& make_decoder,
                            const StreamFn& on_piece = {});

  const Timings& timings() const { return timings_; }  // of the last generate()
  int n_ctx() const { return kv_.n_ctx(); }
  // The tokens sequence `seq` holds in the cache.
  const std::vector<int32_t>& cached(int seq) const { return cached_.at(size_t(seq)); }
  void clear();

 private:
  struct Slot;
  void prefill(std::vector<Slot>& slots);
  void decode(std::vector<Slot>& slots, const StreamFn& on_piece);
  bool take(Slot& s, std::span<const float> logits, const StreamFn& on_piece);

  const model::Model& model_;
  GeneratorOptions opt_;
  model::KvCache kv_;
  std::vector<std::vector<int32_t>> cached_;  // per sequence: exactly what the cache holds
  Timings timings_;
};

}  // namespace slm::runtime
