// The OpenAI API schema: strict parsing of /v1/chat/completions and /v1/completions bodies into plain
// parameters (any unknown or unsupported field is an error naming it), and OpenAI-style error objects.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/generate.h"
#include "runtime/sampling.h"

namespace slm::serve {

using json = nlohmann::ordered_json;

// An error answer: HTTP status plus the OpenAI error object {"error": {message, type, param, code}}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field, "" when none
  std::string code;   // "" when none
  json body() const;
};

// Thrown by the parsers and handlers; the server turns it into the error answer.
class RequestError : public std::exception {
 public:
  explicit RequestError(ApiError e) : err_(std::move(e)) {}
  const ApiError& error() const { return err_; }
  const char* what() const noexcept override { return err_.message.c_str(); }

 private:
  ApiError err_;
};
[[noreturn]] void bad_request(const std::string& param, const std::string& message);

struct ResponseFormat {
  enum class Kind { text, json_object, json_schema, choice, regex };
  Kind kind = Kind::text;
  json schema;                       // json_schema
  std::string name;                  // json_schema name
  std::vector<std::string> choices;  // choice (extension)
  std::string pattern;               // regex (extension)
};

// Everything both endpoints accept, after validation.
struct CompletionParams {
  bool chat = true;
  std::string model;
  json messages;                     // chat: [{role, content: string}] (parts joined)
  std::vector<std::string> prompts;  // completions: one entry per prompt
  std::vector<std::vector<int32_t>> prompt_ids;  // completions given as token ids
  std::optional<int> max_tokens;     // absent: until the context is full (chat) or 16 (completions)
  runtime::SamplingParams sampling;  // OpenAI defaults: temperature 1, top_p 1, no top-k/min-p
  bool seed_given = false;
  std::vector<std::string> stop;
  int n = 1;
  bool stream = false, include_usage = false;
  int n_logprobs = -1;  // < 0: no logprobs; 0: the chosen token; k: plus the k best
  std::string user;
  ResponseFormat format;
  bool echo = false;  // completions only
};

// Parse and validate a request body (already parsed as JSON). Throws RequestError (400) naming the field.
CompletionParams parse_chat_request(const json& body);
CompletionParams parse_completion_request(const json& body);

// Parses the raw body text; not JSON, not an object or ill-formed UTF-8 is a 400.
json parse_body(const std::string& text);

// OpenAI finish_reason for a scheduler finish: "stop" or "length".
const char* openai_finish_reason(runtime::FinishReason r);

}  // namespace slm::serve
