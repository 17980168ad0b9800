// Strict parsing of OpenAI request bodies: every field is type- and range-checked; unknown and
// unsupported fields (tools, functions, ...) are a 400 that names them.
#include "serve/openai.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <set>

namespace slm::serve {

json ApiError::body() const {
  json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return json{{"error", e}};
}

void bad_request(const std::string& param, const std::string& message) {
  throw RequestError(ApiError{.status = 400, .message = message, .param = param});
}

json parse_body(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad_request("", std::string("the body is not valid JSON (UTF-8): ") + e.what());
  }
  if (!j.is_object()) bad_request("", "the body must be a JSON object");
  return j;
}

const char* openai_finish_reason(runtime::FinishReason r) {
  switch (r) {
    case runtime::FinishReason::stop_token:
    case runtime::FinishReason::stop_string:
      return "stop";
    default:
      return "length";
  }
}

namespace {

constexpr int kMaxN = 16;
constexpr int kMaxStops = 4;

std::string type_name(const json& v) { return v.type_name(); }

double number(const json& v, const std::string& key, double lo, double hi) {
  if (!v.is_number()) bad_request(key, "'" + key + "' must be a number, got " + type_name(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad_request(key, fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, x));
  return x;
}

int64_t integer(const json& v, const std::string& key, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) bad_request(key, "'" + key + "' must be an integer, got " + type_name(v));
  int64_t x = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    x = u > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max() : int64_t(u);
  } else {
    x = v.get<int64_t>();
  }
  if (x < lo || x > hi) bad_request(key, fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, x));
  return x;
}

bool boolean(const json& v, const std::string& key) {
  if (!v.is_boolean()) bad_request(key, "'" + key + "' must be a boolean, got " + type_name(v));
  return v.get<bool>();
}

std::string string(const json& v, const std::string& key) {
  if (!v.is_string()) bad_request(key, "'" + key + "' must be a string, got " + type_name(v));
  return v.get<std::string>();
}

std::vector<std::string> stops(const json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) bad_request("stop", "'stop' must be a string or an array of strings");
  if (v.size() > size_t(kMaxStops)) bad_request("stop", fmt::format("'stop' holds at most {} strings", kMaxStops));
  std::vector<std::string> out;
  for (const json& s : v) out.push_back(string(s, "stop"));
  return out;
}

std::vector<runtime::LogitBias> logit_bias(const json& v) {
  if (!v.is_object()) bad_request("logit_bias", "'logit_bias' must be an object of token id -> bias");
  std::vector<runtime::LogitBias> out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    size_t used = 0;
    long id = -1;
    try {
      id = std::stol(k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != k.size() || k.empty() || id < 0 || id > std::numeric_limits<int32_t>::max())
      bad_request("logit_bias", "'logit_bias' keys must be token ids, got '" + k + "'");
    out.push_back({int32_t(id), float(number(it.value(), "logit_bias", -100, 100))});
  }
  return out;
}

ResponseFormat response_format(const json& v) {
  if (!v.is_object()) bad_request("response_format", "'response_format' must be an object");
  ResponseFormat f;
  if (!v.contains("type")) bad_request("response_format.type", "'response_format.type' is required");
  const std::string t = string(v["type"], "response_format.type");
  auto only = [&](std::set<std::string> allowed) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!allowed.count(it.key()))
        bad_request("response_format." + it.key(),
                    "unsupported field 'response_format." + it.key() + "' for type '" + t + "'");
    }
  };
  if (t == "text") {
    only({"type"});
  } else if (t == "json_object") {
    only({"type"});
    f.kind = ResponseFormat::Kind::json_object;
  } else if (t == "json_schema") {
    only({"type", "json_schema"});
    f.kind = ResponseFormat::Kind::json_schema;
    if (!v.contains("json_schema") || !v["json_schema"].is_object())
      bad_request("response_format.json_schema", "'response_format.json_schema' must be an object");
    const json& js = v["json_schema"];
    for (auto it = js.begin(); it != js.end(); ++it) {
      const std::string& k = it.key();
      if (k == "name") {
        f.name = string(it.value(), "response_format.json_schema.name");
      } else if (k == "schema") {
        if (!it.value().is_object() && !it.value().is_boolean())
          bad_request("response_format.json_schema.schema", "'response_format.json_schema.schema' must be an object");
        f.schema = it.value();
      } else if (k == "strict") {
        boolean(it.value(), "response_format.json_schema.strict");
      } else if (k != "description") {
        bad_request("response_format.json_schema." + k, "unsupported field 'response_format.json_schema." + k + "'");
      }
    }
    if (f.name.empty()) bad_request("response_format.json_schema.name", "'response_format.json_schema.name' is required");
    if (f.schema.is_null()) f.schema = json::object();
  } else if (t == "choice") {
    only({"type", "choices"});
    f.kind = ResponseFormat::Kind::choice;
    if (!v.contains("choices") || !v["choices"].is_array() || v["choices"].empty())
      bad_request("response_format.choices", "'response_format.choices' must be a non-empty array of strings");
    for (const json& c : v["choices"]) f.choices.push_back(string(c, "response_format.choices"));
  } else if (t == "regex") {
    only({"type", "pattern"});
    f.kind = ResponseFormat::Kind::regex;
    if (!v.contains("pattern")) bad_request("response_format.pattern", "'response_format.pattern' is required");
    f.pattern = string(v["pattern"], "response_format.pattern");
  } else {
    bad_request("response_format.type", "unsupported response_format type '" + t +
                                            "' (text, json_object, json_schema, choice, regex)");
  }
  return f;
}

std::string content_text(const json& c, size_t i) {
  const std::string where = fmt::format("messages[{}].content", i);
  if (c.is_string()) return c.get<std::string>();
  if (c.is_null()) return {};
  if (!c.is_array()) bad_request(where, "'" + where + "' must be a string or an array of text parts");
  std::string out;
  for (const json& part : c) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
        !part["text"].is_string() || part.size() != 2)
      bad_request(where, "'" + where + "' parts must be {\"type\": \"text\", \"text\": string} (other part types are not supported)");
    if (!out.empty()) out += "\n";
    out += part["text"].get<std::string>();
  }
  return out;
}

json messages(const json& v) {
  if (!v.is_array()) bad_request("messages", "'messages' must be an array");
  if (v.empty()) bad_request("messages", "'messages' must not be empty");
  static const std::set<std::string> roles = {"system", "developer", "user", "assistant"};
  json out = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& m = v[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad_request(where, "'" + where + "' must be an object");
    if (!m.contains("role")) bad_request(where + ".role", "'" + where + ".role' is required");
    const std::string role = string(m["role"], where + ".role");
    if (!roles.count(role))
      bad_request(where + ".role", "unsupported role '" + role + "' in " + where + " (system, developer, user, assistant)");
    json msg = {{"role", role == "developer" ? "system" : role}};
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& k = it.key();
      if (k == "role") continue;
      if (k == "content") {
        msg["content"] = content_text(it.value(), i);
      } else if (k == "name") {
        string(it.value(), where + ".name");
      } else {
        bad_request(where + "." + k, "unsupported field '" + where + "." + k + "'");
      }
    }
    if (!msg.contains("content")) bad_request(where + ".content", "'" + where + ".content' is required");
    out.push_back(msg);
  }
  return out;
}

void prompts(const json& v, CompletionParams& p) {
  auto ids = [&](const json& a) {
    std::vector<int32_t> out;
    for (const json& t : a) out.push_back(int32_t(integer(t, "prompt", 0, std::numeric_limits<int32_t>::max())));
    if (out.empty()) bad_request("prompt", "'prompt' token lists must not be empty");
    return out;
  };
  if (v.is_string()) {
    p.prompts.push_back(v.get<std::string>());
  } else if (v.is_array() && !v.empty() && v[0].is_number_integer()) {
    p.prompt_ids.push_back(ids(v));
  } else if (v.is_array() && !v.empty()) {
    for (const json& e : v) {
      if (e.is_string()) {
        p.prompts.push_back(e.get<std::string>());
      } else if (e.is_array()) {
        p.prompt_ids.push_back(ids(e));
      } else {
        bad_request("prompt", "'prompt' must be a string, an array of strings or of token id arrays");
      }
    }
    if (!p.prompts.empty() && !p.prompt_ids.empty())
      bad_request("prompt", "'prompt' must not mix strings and token id arrays");
  } else {
    bad_request("prompt", "'prompt' must be a string, a non-empty array of strings or token ids");
  }
  if (p.prompts.size() + p.prompt_ids.size() > size_t(kMaxN))
    bad_request("prompt", fmt::format("at most {} prompts per request", kMaxN));
}

// Fields both endpoints share; returns false when `key` is not one of them.
bool common_field(const std::string& key, const json& v, CompletionParams& p) {
  runtime::SamplingParams& s = p.sampling;
  if (key == "model") {
    p.model = string(v, key);
  } else if (key == "max_tokens" || key == "max_completion_tokens") {
    if (!v.is_null()) p.max_tokens = int(integer(v, key, 1, 1 << 24));
  } else if (key == "temperature") {
    if (!v.is_null()) s.temperature = float(number(v, key, 0, 2));
  } else if (key == "top_p") {
    if (!v.is_null()) s.top_p = float(number(v, key, 0, 1));
  } else if (key == "top_k") {
    s.top_k = int(integer(v, key, -1, 1 << 20));
  } else if (key == "min_p") {
    s.min_p = float(number(v, key, 0, 1));
  } else if (key == "presence_penalty") {
    if (!v.is_null()) s.presence_penalty = float(number(v, key, -2, 2));
  } else if (key == "frequency_penalty") {
    if (!v.is_null()) s.frequency_penalty = float(number(v, key, -2, 2));
  } else if (key == "seed") {
    if (!v.is_null()) {
      s.seed = uint64_t(integer(v, key, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
      p.seed_given = true;
    }
  } else if (key == "stop") {
    p.stop = stops(v);
  } else if (key == "logit_bias") {
    if (!v.is_null()) s.logit_bias = logit_bias(v);
  } else if (key == "n") {
    if (!v.is_null()) p.n = int(integer(v, key, 1, kMaxN));
  } else if (key == "stream") {
    if (!v.is_null()) p.stream = boolean(v, key);
  } else if (key == "stream_options") {
    if (v.is_null()) return true;
    if (!v.is_object()) bad_request(key, "'stream_options' must be an object");
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() != "include_usage") bad_request("stream_options." + it.key(), "unsupported field 'stream_options." + it.key() + "'");
      p.include_usage = boolean(it.value(), "stream_options.include_usage");
    }
  } else if (key == "user") {
    p.user = string(v, key);
  } else if (key == "response_format") {
    if (!v.is_null()) p.format = response_format(v);
  } else {
    return false;
  }
  return true;
}

CompletionParams defaults(bool chat) {
  CompletionParams p;
  p.chat = chat;
  p.sampling = runtime::SamplingParams{};
  p.sampling.temperature = 1.0f;
  p.sampling.top_k = 0;
  p.sampling.top_p = 1.0f;
  p.sampling.min_p = 0.0f;
  p.sampling.penalty_last_n = -1;  // OpenAI penalties count every generated token
  return p;
}

void unknown(const std::string& key) {
  static const std::set<std::string> later = {"tools", "tool_choice", "functions", "function_call",
                                              "parallel_tool_calls", "audio", "modalities", "prediction",
                                              "web_search_options", "reasoning_effort", "store", "metadata",
                                              "service_tier", "suffix", "best_of"};
  if (later.count(key)) bad_request(key, "'" + key + "' is not supported by this server");
  bad_request(key, "unknown field '" + key + "'");
}

}  // namespace

CompletionParams parse_chat_request(const json& body) {
  CompletionParams p = defaults(true);
  bool logprobs = false;
  int top = -1;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (common_field(k, it.value(), p)) continue;
    if (k == "messages") {
      p.messages = messages(it.value());
    } else if (k == "logprobs") {
      if (!it.value().is_null()) logprobs = boolean(it.value(), k);
    } else if (k == "top_logprobs") {
      if (!it.value().is_null()) top = int(integer(it.value(), k, 0, 20));
    } else {
      unknown(k);
    }
  }
  if (!body.contains("messages")) bad_request("messages", "'messages' is required");
  if (top >= 0 && !logprobs) bad_request("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  if (logprobs) p.n_logprobs = std::max(top, 0);
  if (p.include_usage && !p.stream) bad_request("stream_options", "'stream_options' needs 'stream': true");
  return p;
}

CompletionParams parse_completion_request(const json& body) {
  CompletionParams p = defaults(false);
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (common_field(k, it.value(), p)) continue;
    if (k == "prompt") {
      prompts(it.value(), p);
    } else if (k == "logprobs") {
      if (!it.value().is_null()) p.n_logprobs = int(integer(it.value(), k, 0, 20));
    } else if (k == "echo") {
      if (!it.value().is_null() && boolean(it.value(), k)) bad_request(k, "'echo': true is not supported by this server");
    } else {
      unknown(k);
    }
  }
  if (!body.contains("prompt")) bad_request("prompt", "'prompt' is required");
  if (p.include_usage && !p.stream) bad_request("stream_options", "'stream_options' needs 'stream': true");
  return p;
}

}  // namespace slm::serve
