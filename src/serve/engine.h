// What the server serves: the model, its tokenizer and chat template, the scheduler, and the compiled
// structured-output constraints (cached by their definition). Turns validated OpenAI parameters into
// scheduler requests.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "runtime/constrained/constraint.h"
#include "runtime/scheduler.h"
#include "serve/openai.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace slm::serve {

// A LoRA adapter to serve next to the base model; requests pick it by name in their `model` field.
struct LoraOption {
  std::string path;
  float scale = 1.0f;
  std::string name;  // "" = the file name without .gguf
};

struct EngineOptions {
  std::string model_path;
  std::vector<LoraOption> loras;
  std::string model_id;        // the name /v1/models lists; "" = the file name
  std::string tokenizer_path;  // for a llama2.c .bin checkpoint
  std::string chat_template;   // Jinja source overriding the model's; "" = the model's (or a ChatML default)
  runtime::SchedulerOptions scheduler;
  size_t grammar_cache = 64;   // compiled constraints kept
};

// The scheduler requests of one API call: choice i generates from prompt prompt_of[i].
struct Job {
  std::vector<runtime::SeqRequest> seqs;
  std::vector<int> prompt_of;      // per choice
  std::vector<int> prompt_tokens;  // per prompt
};

class Engine {
 public:
  explicit Engine(const EngineOptions& opt);
  ~Engine();

  const std::string& model_id() const { return model_id_; }
  const std::vector<std::string>& adapter_names() const { return adapter_names_; }
  // The adapter a request's `model` field names: -1 for the base model ("" or model_id()), its index for
  // an adapter, nullopt for an unknown name.
  std::optional<int> adapter_for(const std::string& model) const;
  runtime::Scheduler& scheduler() { return *sched_; }
  const tok::Tokenizer& tokenizer() const { return *tok_; }
  int n_ctx() const { return sched_->n_ctx(); }

  // Renders the chat template over validated messages and tokenises the result.
  std::vector<int32_t> chat_prompt(const json& messages) const;
  // Compiles (or finds) the constraint for a response format; null for text. Unsupported schema features
  // are a 400.
  std::shared_ptr<constrained::TokenIndex> constraint(const ResponseFormat& f);
  // Prompts, limits, sampling, stop ids, constraints and decoders for every choice. Throws RequestError.
  Job build(const CompletionParams& p, std::optional<runtime::Clock::time_point> deadline);

  // The text of one token (as logprobs report it).
  std::string piece(int32_t id) const;

 private:
  model::Model model_;
  std::optional<tok::Tokenizer> tok_;
  std::optional<ChatTemplate> tmpl_;
  std::string model_id_;
  std::vector<std::string> adapter_names_;  // by Model::add_lora index
  std::vector<int32_t> eog_;
  std::unique_ptr<runtime::Scheduler> sched_;
  size_t grammar_cache_;
  std::mutex mu_;  // guards trie_ and the grammar cache
  std::shared_ptr<const constrained::VocabTrie> trie_;
  std::list<std::pair<std::string, std::shared_ptr<constrained::TokenIndex>>> grammars_;  // most recent first
};

}  // namespace slm::serve
