// Sampling: a chain of small steps over candidate tokens (logit bias, penalties, top-k, top-p, min-p,
// temperature), then a greedy or seeded random pick, plus log-probabilities for the pick and alternatives.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/rng.h"

namespace slm::runtime {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // probability, valid after Candidates::softmax()
};

// The working set a step sees. Built from one row of logits; steps shrink or rescale it.
struct Candidates {
  std::vector<Candidate> items;
  bool sorted = false;  // by logit descending, ties by id ascending (the only order used anywhere)

  // All ids 0..n-1 in id order; NaN logits become -inf so that they are never picked.
  static Candidates from_logits(std::span<const float> logits);
  void assign(std::span<const float> logits);  // the same, reusing this object's storage
  void sort();     // no-op when already sorted
  void softmax();  // sorts and fills p (computed in double; sums to 1); all -inf gives p = 0 everywhere
};

// The last `window` accepted tokens (prompt and generated), for the penalties. window < 0 keeps all.
class TokenHistory {
 public:
  explicit TokenHistory(int window = 64) : window_(window) {}
  void push(int32_t token);
  void clear() { tokens_.clear(); }
  std::span<const int32_t> recent() const;  // oldest first
  int window() const { return window_; }

 private:
  int window_;
  std::vector<int32_t> tokens_;  // oldest first; trimmed in batches so that push stays O(1) amortised
};

struct LogitBias {
  int32_t id;
  float bias;  // added to the logit; -inf bans the token
};

// The steps. Each is a plain function; the structs below make a chain of them as data.
// Out-of-range ids in a bias throw slm::Error("[sampling] ...").
void apply_logit_bias(Candidates& c, std::span<const LogitBias> bias);
// Over the tokens in `recent` with count n: logit > 0 ? logit / repeat : logit * repeat (once per distinct
// token), then logit -= n * frequency + presence. repeat = 1 and presence = frequency = 0 change nothing.
void apply_penalties(Candidates& c, std::span<const int32_t> recent, float repeat, float presence,
                     float frequency);
void apply_top_k(Candidates& c, int k);  // k <= 0: keep all
// Keeps the shortest prefix (by probability, descending) whose mass reaches p, at least min_keep. p >= 1: all.
void apply_top_p(Candidates& c, float p, size_t min_keep = 1);
// Keeps the tokens with probability >= min_p * (highest probability), at least min_keep. min_p <= 0: all.
void apply_min_p(Candidates& c, float min_p, size_t min_keep = 1);
void apply_temperature(Candidates& c, float t);  // divides the logits by t > 0
// The highest logit; the lowest id among equal logits.
int32_t pick_greedy(const Candidates& c);
// A draw from softmax(logits) with one uniform number from rng.
int32_t pick_random(Candidates& c, Rng& rng);

struct LogitBiasStep {
  std::vector<LogitBias> bias;
};
struct PenaltyStep {
  float repeat = 1.0f, presence = 0.0f, frequency = 0.0f;
};
struct TopKStep {
  int k;
};
struct TopPStep {
  float p;
};
struct MinPStep {
  float min_p;
};
struct TemperatureStep {
  float t;
};
using SamplerStep = std::variant<LogitBiasStep, PenaltyStep, TopKStep, TopPStep, MinPStep, TemperatureStep>;
void apply_step(const SamplerStep& step, Candidates& c, const TokenHistory& history);
std::string step_name(const SamplerStep& step);

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int penalty_last_n = 64;  // window of recent tokens the penalties see; 0: off; < 0: all
  std::vector<LogitBias> logit_bias;
  uint64_t seed = 0;
};

// Greedy settings: temperature 0, every filter off.
SamplingParams greedy_params();

// The default chain from params, in order: bias, penalties, top-k, top-p, min-p, temperature (steps that
// would change nothing are left out). With temperature <= 0 the chain ends at the penalties and the pick
// is greedy.
std::vector<SamplerStep> default_chain(const SamplingParams& p);

struct TokenLogprob {
  int32_t id;
  float logprob;
};
// Log-probabilities under the model's own distribution (log-softmax of the raw logits, before any step).
float logprob_of(std::span<const float> logits, int32_t id);
// The n most likely ids, descending, lowest id first among equals.
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n);

struct Sampled {
  int32_t id = -1;
  float logprob = 0.0f;           // of `id` under the raw distribution
  std::vector<TokenLogprob> top;  // the n_top most likely ids
};

// One sequence's sampler: its chain, its history (for penalties) and its random stream.
class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  Sampler(std::vector<SamplerStep> chain, bool greedy, int penalty_last_n, uint64_t seed);

  // Picks the next id from one row of logits (n_vocab floats). Does not accept it.
  int32_t sample(std::span<const float> logits);
  // The same pick from a row the sampler may use as scratch; the row is left as it was. Saves copying the
  // row for a greedy pick with a logit bias (the server samples its own logits buffer this way).
  int32_t sample_row(std::span<float> logits);
  // The same pick plus log-probabilities (n_top alternatives).
  Sampled sample_with_logprobs(std::span<const float> logits, int n_top);
  // Records a token (prompt or generated) for the penalties.
  void accept(int32_t token) { history_.push(token); }
  // Forgets the history and restarts the random stream from the seed.
  void reset();

  const std::vector<SamplerStep>& chain() const { return chain_; }
  bool greedy() const { return greedy_; }
  const TokenHistory& history() const { return history_; }

 private:
  // Greedy with only a logit bias: the argmax of the biased row, no candidate list.
  bool greedy_bias_only() const;

  std::vector<SamplerStep> chain_;
  Candidates work_;            // reused between calls: no allocation per token
  std::vector<float> biased_;  // sample()'s copy of the row for that case
  std::vector<float> saved_;   // sample_row: the biased entries' own values
  bool greedy_;
  uint64_t seed_;
  TokenHistory history_;
  Rng rng_;
};

}  // namespace slm::runtime
