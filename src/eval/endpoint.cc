// OpenAI-compatible endpoint candidates: POST /v1/chat/completions over HTTP (cpp-httplib). Label tasks
// use slm's `choice` response_format when the server is slm (its /v1/models says owned_by "slm"), and
// otherwise match the answer text to a label; label probabilities come from the first answer token's
// top_logprobs (mass of tokens that start each label, renormalised), one-hot when none is given.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "eval/candidate.h"

namespace slm::eval {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string lower_trim(std::string s) {
  const size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  s = a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  for (char& c : s) c = char(std::tolower((unsigned char)c));
  return s;
}

// Label probabilities from the first token's alternatives.
std::vector<double> probs_from_top(const json& top, const std::vector<std::string>& labels) {
  std::vector<double> p(labels.size(), 0.0);
  for (const json& alt : top) {
    if (!alt.is_object() || !alt.contains("token") || !alt.contains("logprob") || !alt["logprob"].is_number()) continue;
    const std::string t = lower_trim(alt["token"].is_string() ? alt["token"].get<std::string>() : "");
    if (t.empty()) continue;
    std::vector<size_t> hits;
    for (size_t i = 0; i < labels.size(); ++i)
      if (lower_trim(labels[i]).starts_with(t)) hits.push_back(i);
    for (size_t i : hits) p[i] += std::exp(alt["logprob"].get<double>()) / double(hits.size());
  }
  double s = 0;
  for (double x : p) s += x;
  if (s <= 0) return {};
  for (double& x : p) x /= s;
  return p;
}

class EndpointCandidate : public Candidate {
 public:
  EndpointCandidate(const TaskContract& t, EndpointSpec spec) : task_(t), spec_(std::move(spec)) {
    std::string url = spec_.url;
    if (url.starts_with("https://")) fail("[eval] endpoint '{}': https is not supported by this build (use http)", url);
    if (!url.starts_with("http://")) fail("[eval] endpoint '{}': expected http://host:port[/prefix]", url);
    url = url.substr(7);
    const size_t slash = url.find('/');
    host_ = url.substr(0, slash);
    prefix_ = slash == std::string::npos ? "" : url.substr(slash);
    while (prefix_.ends_with("/")) prefix_.pop_back();
    if (prefix_.ends_with("/v1")) prefix_.resize(prefix_.size() - 3);
    if (host_.empty()) fail("[eval] endpoint '{}': no host", spec_.url);
    if (!spec_.key_env.empty()) {
      const char* k = std::getenv(spec_.key_env.c_str());
      if (!k || !*k) fail("[eval] endpoint '{}': environment variable {} is not set", spec_.url, spec_.key_env);
      key_ = k;
    }
    client_ = std::make_unique<httplib::Client>("http://" + host_);
    client_->set_read_timeout(120, 0);
    client_->set_connection_timeout(10, 0);
    probe();
  }

  std::string name() const override { return model_ + "@" + host_; }
  std::string kind() const override { return "endpoint"; }

  Prediction predict(const std::string& input) override {
    const auto t0 = Clock::now();
    Prediction p;
    try {
      p = ask(input);
    } catch (const Error& e) {
      p.error = e.what();
    }
    p.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return p;
  }

 private:
  httplib::Headers headers() const {
    httplib::Headers h;
    if (!key_.empty()) h.emplace("Authorization", "Bearer " + key_);
    return h;
  }

  void probe() {
    auto r = client_->Get(prefix_ + "/v1/models", headers());
    if (!r) fail("[eval] endpoint '{}': cannot connect ({})", spec_.url, httplib::to_string(r.error()));
    const json j = json::parse(r->body, nullptr, false);
    if (r->status == 200 && j.is_object() && j.contains("data") && j["data"].is_array() && !j["data"].empty()) {
      const json& m = j["data"][0];
      if (m.is_object() && m.value("owned_by", "") == "slm") is_slm_ = true;
      if (spec_.model.empty() && m.is_object() && m.contains("id") && m["id"].is_string()) spec_.model = m["id"];
    }
    model_ = spec_.model.empty() ? "default" : spec_.model;
  }

  Prediction ask(const std::string& input) {
    json msgs = json::array();
    if (!task_.system.empty()) msgs.push_back({{"role", "system"}, {"content", task_.system}});
    msgs.push_back({{"role", "user"}, {"content", input}});
    json body = {{"model", model_}, {"messages", msgs}, {"temperature", 0}, {"max_tokens", task_.serving.max_tokens}};
    if (task_.kind == OutputKind::label) {
      body["logprobs"] = true;
      body["top_logprobs"] = 10;
      if (is_slm_) body["response_format"] = {{"type", "choice"}, {"choices", task_.labels}};
    } else if (task_.kind == OutputKind::json) {
      body["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", task_.name}, {"schema", task_.schema}}}};
    }
    auto r = client_->Post(prefix_ + "/v1/chat/completions", headers(), body.dump(), "application/json");
    if (!r) fail("[eval] endpoint '{}': request failed ({})", spec_.url, httplib::to_string(r.error()));
    if (r->status != 200) fail("[eval] endpoint '{}': HTTP {}: {}", spec_.url, r->status, r->body.substr(0, 300));
    const json j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
      fail("[eval] endpoint '{}': response has no choices", spec_.url);
    const json& c = j["choices"][0];
    Prediction p;
    if (c.contains("message") && c["message"].is_object() && c["message"].contains("content") && c["message"]["content"].is_string())
      p.output = c["message"]["content"];
    if (j.contains("usage") && j["usage"].is_object()) {
      p.prompt_tokens = j["usage"].value("prompt_tokens", 0);
      p.completion_tokens = j["usage"].value("completion_tokens", 0);
    }
    if (task_.kind == OutputKind::label) {
      p.label = match_label(p.output, task_.labels);
      if (c.contains("logprobs") && c["logprobs"].is_object() && c["logprobs"].contains("content") &&
          c["logprobs"]["content"].is_array() && !c["logprobs"]["content"].empty()) {
        const json& first = c["logprobs"]["content"][0];
        if (first.is_object() && first.contains("top_logprobs")) p.probs = probs_from_top(first["top_logprobs"], task_.labels);
      }
      if (p.probs.empty() && p.label >= 0) {
        p.probs.assign(task_.labels.size(), 0.0);
        p.probs[size_t(p.label)] = 1.0;
      }
    }
    return p;
  }

  const TaskContract& task_;
  EndpointSpec spec_;
  std::string host_, prefix_, key_, model_;
  bool is_slm_ = false;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace

EndpointSpec parse_endpoint_spec(const std::string& s) {
  EndpointSpec e;
  size_t a = s.find(',');
  e.url = s.substr(0, a);
  if (a != std::string::npos) {
    const size_t b = s.find(',', a + 1);
    e.key_env = s.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    if (b != std::string::npos) e.model = s.substr(b + 1);
  }
  if (e.url.empty()) fail("[eval] --endpoint '{}': expected URL[,KEY_ENV[,MODEL]]", s);
  return e;
}

std::unique_ptr<Candidate> make_endpoint_candidate(const TaskContract& t, const EndpointSpec& spec) {
  return std::make_unique<EndpointCandidate>(t, spec);
}

}  // namespace slm::eval
