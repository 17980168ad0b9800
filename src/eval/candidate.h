// Candidates evaluated side by side: the hashed n-gram baseline, local GGUF models and OpenAI-compatible
// endpoints, behind one small interface (a plug-in seam, hence virtual).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "data/records.h"
#include "eval/contract.h"

namespace slm::eval {

struct Prediction {
  std::string output;         // the label, the JSON text or the text answered
  int label = -1;             // label tasks: index into the contract's labels; -1 = none matched
  std::vector<double> probs;  // label tasks: one probability per label (sums to 1); empty when unknown
  double latency_ms = 0;
  int prompt_tokens = 0, completion_tokens = 0;
  std::string error;          // non-empty when the request failed (counted as a wrong answer)
  // Local models asked for them: the raw next-token logits at the answer position (after the rendered
  // prompt, where a label or a generated answer begins). Used to compare a quantised model with its base.
  std::vector<float> answer_logits;
};

class Candidate {
 public:
  virtual ~Candidate() = default;
  virtual std::string name() const = 0;
  virtual std::string kind() const = 0;  // "baseline", "local" or "endpoint"
  // `input` is the rendered template. Failures of one request are reported in Prediction::error.
  virtual Prediction predict(const std::string& input) = 0;
};

// Logistic regression on hashed n-grams, trained here on `train` (label tasks; for other kinds it answers
// nothing and the report marks it not applicable).
std::unique_ptr<Candidate> make_baseline_candidate(const TaskContract& t, const std::vector<data::Row>& train);
// A GGUF model. Label tasks: constrained choice over the labels scored by the model's token
// probabilities; json/text: greedy generation up to serving.max_tokens. keep_answer_logits: fill
// Prediction::answer_logits (free for label tasks, one extra prompt prefill for json/text).
std::unique_ptr<Candidate> make_local_candidate(const TaskContract& t, const std::string& model_path,
                                                const std::string& lora_path = "", bool keep_answer_logits = false);

struct EndpointSpec {
  std::string url;      // http://host:port (with or without /v1)
  std::string key_env;  // environment variable holding the API key; empty = none
  std::string model;    // model name to request; empty = the first of /v1/models
};
// "URL[,KEY_ENV[,MODEL]]".
EndpointSpec parse_endpoint_spec(const std::string& s);
std::unique_ptr<Candidate> make_endpoint_candidate(const TaskContract& t, const EndpointSpec& spec);

// Constrained choice: label i is the token sequence seqs[i]; logits[i][j] is the raw logit row before
// seqs[i][j] (rows of labels sharing a prefix agree on it). At every step the probability is renormalised
// over the tokens that continue some label from the same prefix, so the result is the distribution a
// decoder restricted to the labels would sample from. Returns probabilities (sum 1). Sequences must be
// distinct and none a prefix of another (end them with an end token).
std::vector<double> choice_probabilities(const std::vector<std::vector<int32_t>>& seqs,
                                         const std::vector<std::vector<std::vector<float>>>& logits);

// The label a free-text answer names: exact (trimmed, case-insensitive) match first, then the label that
// occurs earliest in the answer; -1 when none.
int match_label(const std::string& answer, const std::vector<std::string>& labels);

}  // namespace slm::eval
