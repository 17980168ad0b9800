// OpenAI response bodies: chat.completion / text_completion objects, their streaming chunks, usage and
// logprobs, built from what each choice received from the scheduler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/scheduler.h"
#include "serve/openai.h"

namespace slm::serve {

class Engine;

// One choice as it is received: text so far, logprobs, and the final state.
struct ChoiceState {
  std::string text;
  std::vector<runtime::Sampled> logprobs;
  bool done = false, started = false;
  runtime::FinishReason finish = runtime::FinishReason::length;
  bool timed_out = false;
  std::string error;
  int n_gen = 0;
  runtime::Clock::time_point last_at;
};

// Identity of one API call's answer.
struct AnswerHead {
  std::string id;  // chatcmpl-... or cmpl-...
  int64_t created = 0;
  std::string model;
  bool chat = true;
};

json usage_json(int prompt_tokens, int completion_tokens);
// logprobs of a chat choice: {"content": [{token, logprob, bytes, top_logprobs}]}.
json chat_logprobs(const Engine& e, const std::vector<runtime::Sampled>& lp);
// logprobs of a completion choice: {tokens, token_logprobs, top_logprobs, text_offset}.
json completion_logprobs(const Engine& e, const std::vector<runtime::Sampled>& lp, bool with_top);

// The whole non-streaming answer.
json full_answer(const Engine& e, const AnswerHead& h, const std::vector<ChoiceState>& choices, int n_logprobs,
                 int prompt_tokens);
// One streaming chunk for choice `index` (delta text, logprobs of the tokens it covers, finish reason).
json chunk(const Engine& e, const AnswerHead& h, int index, const std::string& text,
           const std::vector<runtime::Sampled>& lp, int n_logprobs, const char* finish, bool first);
// The final usage chunk (choices: []).
json usage_chunk(const AnswerHead& h, int prompt_tokens, int completion_tokens);

// "data: <json>\n\n"
std::string sse(const json& j);

}  // namespace slm::serve
