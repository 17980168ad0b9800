// OpenAI response objects and streaming chunks.
#include "serve/responses.h"

#include <cmath>

#include "serve/engine.h"

namespace slm::serve {
namespace {

// JSON has no -inf: a token the constraint forbids reports this instead.
double finite(float lp) { return std::isfinite(lp) ? double(lp) : -9999.0; }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

json chat_entry(const Engine& e, int32_t id, float lp) {
  const std::string t = e.piece(id);
  return json{{"token", t}, {"logprob", finite(lp)}, {"bytes", bytes_of(t)}};
}

}  // namespace

json usage_json(int prompt_tokens, int completion_tokens) {
  return json{{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens}};
}

json chat_logprobs(const Engine& e, const std::vector<runtime::Sampled>& lp) {
  json content = json::array();
  for (const runtime::Sampled& s : lp) {
    json entry = chat_entry(e, s.id, s.logprob);
    json top = json::array();
    for (const runtime::TokenLogprob& t : s.top) top.push_back(chat_entry(e, t.id, t.logprob));
    entry["top_logprobs"] = top;
    content.push_back(entry);
  }
  return json{{"content", content}, {"refusal", nullptr}};
}

json completion_logprobs(const Engine& e, const std::vector<runtime::Sampled>& lp, bool with_top) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = 0;
  for (const runtime::Sampled& s : lp) {
    const std::string t = e.piece(s.id);
    tokens.push_back(t);
    lps.push_back(finite(s.logprob));
    offsets.push_back(offset);
    offset += t.size();
    if (with_top) {
      json m = json::object();
      for (const runtime::TokenLogprob& x : s.top) m[e.piece(x.id)] = finite(x.logprob);
      tops.push_back(m);
    }
  }
  return json{{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", with_top ? tops : json(nullptr)},
              {"text_offset", offsets}};
}

json full_answer(const Engine& e, const AnswerHead& h, const std::vector<ChoiceState>& choices, int n_logprobs,
                 int prompt_tokens) {
  json out = {{"id", h.id}, {"object", h.chat ? "chat.completion" : "text_completion"}, {"created", h.created},
              {"model", h.model}, {"system_fingerprint", nullptr}};
  json cs = json::array();
  int completion = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceState& c = choices[i];
    completion += c.n_gen;
    json lp = nullptr;
    if (n_logprobs >= 0) lp = h.chat ? chat_logprobs(e, c.logprobs) : completion_logprobs(e, c.logprobs, n_logprobs > 0);
    json choice = {{"index", i}};
    if (h.chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
    } else {
      choice["text"] = c.text;
    }
    choice["logprobs"] = lp;
    choice["finish_reason"] = openai_finish_reason(c.finish);
    cs.push_back(choice);
  }
  out["choices"] = cs;
  out["usage"] = usage_json(prompt_tokens, completion);
  return out;
}

json chunk(const Engine& e, const AnswerHead& h, int index, const std::string& text,
           const std::vector<runtime::Sampled>& lp, int n_logprobs, const char* finish, bool first) {
  json out = {{"id", h.id}, {"object", h.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", h.created}, {"model", h.model}, {"system_fingerprint", nullptr}};
  json choice = {{"index", index}};
  if (h.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  json l = nullptr;
  if (n_logprobs >= 0 && !lp.empty()) l = h.chat ? chat_logprobs(e, lp) : completion_logprobs(e, lp, n_logprobs > 0);
  choice["logprobs"] = l;
  choice["finish_reason"] = finish ? json(finish) : json(nullptr);
  out["choices"] = json::array({choice});
  return out;
}

json usage_chunk(const AnswerHead& h, int prompt_tokens, int completion_tokens) {
  return json{{"id", h.id}, {"object", h.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", h.created}, {"model", h.model}, {"choices", json::array()},
              {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

std::string sse(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

}  // namespace slm::serve
