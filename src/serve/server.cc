// HTTP routes over cpp-httplib: authentication, limits, the OpenAI endpoints (full answers and SSE
// streams), tokenize/detokenize, health, models and metrics.
#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <fstream>

#include "core/error.h"
#include "serve/responses.h"

namespace slm::serve {

using runtime::Clock;

std::vector<std::string> read_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("[serve] cannot read API key file {}", path);
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    keys.push_back(line);
  }
  if (keys.empty()) fail("[serve] API key file {} holds no keys", path);
  return keys;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned d = a.size() != b.size();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? uint8_t(a[i]) : 0, y = i < b.size() ? uint8_t(b[i]) : 0;
    d |= unsigned(x ^ y);
  }
  return d == 0;
}

namespace {

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.body()); }

std::string endpoint_label(const std::string& path) {
  static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
                                "/metrics", "/tokenize", "/detokenize"};
  for (const char* k : known) {
    if (path == k) return k;
  }
  return "other";
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

// One API call in flight: its scheduler streams and what each choice has received.
struct Server::Stream {
  AnswerHead head;
  CompletionParams params;
  std::vector<std::shared_ptr<runtime::SeqStream>> seqs;
  std::vector<ChoiceState> choices;
  int prompt_tokens = 0;
  Clock::time_point arrival, deadline;
  bool finished = false, opened = false;
  void cancel() {
    for (auto& s : seqs) s->cancel();
  }
  bool all_done() const {
    for (const ChoiceState& c : choices) {
      if (!c.done) return false;
    }
    return true;
  }
};

Server::Server(Engine& engine, ServerOptions opt) : engine_(engine), opt_(std::move(opt)) {
  http_ = std::make_unique<httplib::Server>();
  const runtime::Scheduler& s = engine_.scheduler();
  size_t threads = opt_.http_threads > 0 ? size_t(opt_.http_threads) : size_t(s.max_seqs() + 64 + 8);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(opt_.max_body);
  http_->set_read_timeout(opt_.read_timeout_s, 0);
  http_->set_write_timeout(opt_.read_timeout_s, 0);
  http_->set_keep_alive_timeout(5);
  routes();
}

Server::~Server() = default;

int Server::bind() {
  // cpp-httplib listens with a backlog of 5: a burst of clients (64 streams opening at once) overflows it
  // and connections fail. Keep the socket and widen the backlog after bind (listen() again updates it).
  int fd = -1;
  http_->set_socket_options([&fd](socket_t sock) {
    httplib::default_socket_options(sock);
    fd = int(sock);
  });
  int port = opt_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(opt_.host);
  } else if (!http_->bind_to_port(opt_.host, port)) {
    port = -1;
  }
  if (port <= 0) fail("[serve] cannot listen on {}:{}", opt_.host, opt_.port);
  http_->set_socket_options(httplib::default_socket_options);  // the lambda above refers to this frame
  if (fd >= 0) ::listen(fd, SOMAXCONN);
  return port;
}

void Server::run() { http_->listen_after_bind(); }

void Server::stop(bool drain) {
  draining_ = true;
  engine_.scheduler().stop(drain);  // returns when every sequence has finished (or was cancelled)
  http_->stop();
}

bool Server::authorized(const httplib::Request& req) const {
  if (opt_.api_keys.empty()) return true;
  const std::string h = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  const std::string_view given = h.rfind(prefix, 0) == 0 ? std::string_view(h).substr(prefix.size()) : std::string_view();
  bool ok = false;
  for (const std::string& k : opt_.api_keys) ok |= constant_time_equal(given, k);  // no early exit
  return ok && !given.empty();
}

void Server::routes() {
  httplib::Server& s = *http_;
  if (!opt_.cors_origin.empty()) {
    s.set_default_headers({{"Access-Control-Allow-Origin", opt_.cors_origin}, {"Vary", "Origin"}});
  }
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "OPTIONS") {
      if (opt_.cors_origin.empty()) {
        send_error(res, {.status = 405, .message = "CORS is not enabled on this server"});
      } else {
        res.status = 204;
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Max-Age", "600");
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path != "/health" && !authorized(req)) {
      send_error(res, {.status = 401, .message = "missing or invalid API key (Authorization: Bearer KEY)",
                       .type = "authentication_error", .code = "invalid_api_key"});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.request(endpoint_label(req.path), res.status);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404   ? "no route for " + req.method + " " + req.path
                      : res.status == 413 ? "the request body is larger than the server accepts"
                                          : "request failed";
    send_error(res, {.status = res.status, .message = msg, .type = res.status == 404 ? "not_found_error" : "invalid_request_error"});
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    send_error(res, {.status = 500, .message = msg, .type = "server_error"});
  });

  // Every handler turns RequestError and slm::Error into an OpenAI error object.
  auto guarded = [](auto fn) {
    return [fn](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res);
      } catch (const RequestError& e) {
        send_error(res, e.error());
      } catch (const Error& e) {
        send_error(res, {.status = 400, .message = e.what()});
      }
    };
  };
  s.Post("/v1/chat/completions", guarded([this](const auto& q, auto& r) { generate(q, r, true); }));
  s.Post("/v1/completions", guarded([this](const auto& q, auto& r) { generate(q, r, false); }));
  s.Post("/tokenize", guarded([this](const auto& q, auto& r) { tokenize(q, r); }));
  s.Post("/detokenize", guarded([this](const auto& q, auto& r) { detokenize(q, r); }));
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (draining_) {
      send_json(res, 503, {{"status", "draining"}});
    } else {
      send_json(res, 200, {{"status", "ok"}});
    }
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json data = json::array({{{"id", engine_.model_id()}, {"object", "model"}, {"created", 0}, {"owned_by", "slm"},
                              {"max_model_len", engine_.n_ctx()}}});
    for (const std::string& a : engine_.adapter_names())  // LoRA adapters, named by requests' `model`
      data.push_back({{"id", a}, {"object", "model"}, {"created", 0}, {"owned_by", "slm"},
                      {"parent", engine_.model_id()}, {"max_model_len", engine_.n_ctx()}});
    send_json(res, 200, {{"object", "list"}, {"data", data}});
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(engine_.scheduler().stats()), "text/plain; version=0.0.4");
  });
}

void Server::tokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  bool add_special = true;
  std::optional<std::string> text;
  std::optional<json> messages;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "model") {
      if (!it.value().is_string()) bad_request(k, "'model' must be a string");
    } else if (k == "prompt" || k == "content") {
      if (!it.value().is_string()) bad_request(k, "'" + k + "' must be a string");
      text = it.value().get<std::string>();
    } else if (k == "messages") {
      messages = parse_chat_request(json{{"messages", it.value()}}).messages;
    } else if (k == "add_special_tokens") {
      if (!it.value().is_boolean()) bad_request(k, "'add_special_tokens' must be a boolean");
      add_special = it.value().get<bool>();
    } else {
      bad_request(k, "unknown field '" + k + "'");
    }
  }
  if (text.has_value() == messages.has_value()) bad_request("prompt", "give exactly one of 'prompt' and 'messages'");
  const std::vector<int32_t> ids =
      text ? engine_.tokenizer().encode(*text, tok::EncodeOptions{.add_special = add_special}) : engine_.chat_prompt(*messages);
  send_json(res, 200, {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", engine_.n_ctx()}});
}

void Server::detokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  std::optional<std::vector<int32_t>> ids;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "model") {
      if (!it.value().is_string()) bad_request(k, "'model' must be a string");
    } else if (k == "tokens") {
      if (!it.value().is_array()) bad_request(k, "'tokens' must be an array of token ids");
      ids.emplace();
      for (const json& t : it.value()) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= engine_.tokenizer().n_vocab())
          bad_request(k, fmt::format("'tokens' must hold token ids in [0, {})", engine_.tokenizer().n_vocab()));
        ids->push_back(t.get<int32_t>());
      }
    } else {
      bad_request(k, "unknown field '" + k + "'");
    }
  }
  if (!ids) bad_request("tokens", "'tokens' is required");
  send_json(res, 200, {{"prompt", engine_.tokenizer().decode(*ids)}});
}

void Server::generate(const httplib::Request& req, httplib::Response& res, bool chat) {
  auto st = std::make_shared<Stream>();
  st->arrival = Clock::now();
  st->deadline = st->arrival + std::chrono::milliseconds(int64_t(opt_.request_timeout_s * 1000));
  const json body = parse_body(req.body);
  st->params = chat ? parse_chat_request(body) : parse_completion_request(body);
  const CompletionParams& p = st->params;
  const std::optional<int> adapter = engine_.adapter_for(p.model);
  if (!adapter) {
    std::string have = "'" + engine_.model_id() + "'";
    for (const std::string& a : engine_.adapter_names()) have += ", '" + a + "'";
    throw RequestError({.status = 404, .message = "model '" + p.model + "' does not exist (this server has " + have + ")",
                        .param = "model", .code = "model_not_found"});
  }
  if (draining_) throw RequestError({.status = 503, .message = "the server is shutting down", .type = "server_error"});
  Job job = engine_.build(p, st->deadline);
  for (runtime::SeqRequest& r : job.seqs) r.adapter = *adapter;
  for (int n : job.prompt_tokens) st->prompt_tokens += n;
  const uint64_t id = next_id_++;
  st->head = {.id = fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", id),
              .created = int64_t(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()),
              .model = p.model.empty() ? engine_.model_id() : p.model,
              .chat = chat};
  st->choices.resize(job.seqs.size());
  st->seqs = engine_.scheduler().submit(std::move(job.seqs));
  if (st->seqs.empty()) {
    if (draining_) throw RequestError({.status = 503, .message = "the server is shutting down", .type = "server_error"});
    metrics_.rejected();
    res.set_header("Retry-After", "1");
    throw RequestError({.status = 429, .message = "the server is at capacity; retry later", .type = "rate_limit_error",
                        .code = "server_busy"});
  }
  if (!p.stream) {
    respond_full(*st, res);
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [this, st](size_t, httplib::DataSink& sink) { return pump(*st, sink); },
      [st](bool) { st->cancel(); });  // a client gone mid-stream frees its slots at the next step
}

// Records one scheduler event for choice i; appends its SSE chunk to *out when streaming.
void Server::take_event(Stream& st, size_t i, runtime::SeqEvent& e, std::string* out) {
  ChoiceState& c = st.choices[i];
  const CompletionParams& p = st.params;
  if (e.kind == runtime::SeqEventKind::token) {
    if (!c.started) {
      metrics_.ttft.observe(seconds(e.at - st.arrival));
    } else {
      metrics_.itl.observe(seconds(e.at - c.last_at));
    }
    c.last_at = e.at;
    if (!out) {
      c.text += e.text;
      if (e.logprobs) c.logprobs.push_back(std::move(*e.logprobs));
    } else if (!e.text.empty() || e.logprobs || (st.head.chat && !c.started)) {
      std::vector<runtime::Sampled> lp;
      if (e.logprobs) lp.push_back(std::move(*e.logprobs));
      *out += sse(chunk(engine_, st.head, int(i), e.text, lp, p.n_logprobs, nullptr, st.head.chat && !c.started));
    }
    c.started = true;
    return;
  }
  c.done = true;
  c.finish = e.finish;
  c.timed_out = e.timed_out;
  c.error = e.error;
  c.n_gen = e.n_gen;
  metrics_.e2e.observe(seconds(e.at - st.arrival));
  if (out && c.error.empty() && e.finish != runtime::FinishReason::cancelled)
    *out += sse(chunk(engine_, st.head, int(i), "", {}, p.n_logprobs, openai_finish_reason(e.finish),
                      st.head.chat && !c.started));
}

void Server::respond_full(Stream& st, httplib::Response& res) {
  const auto backstop = st.deadline + std::chrono::seconds(10);  // the scheduler ends sequences at the deadline
  while (!st.all_done()) {
    bool got = false;
    for (size_t i = 0; i < st.seqs.size(); ++i) {
      runtime::SeqEvent e;
      while (!st.choices[i].done && st.seqs[i]->next(e, Clock::duration::zero())) {
        take_event(st, i, e, nullptr);
        got = true;
      }
    }
    if (got) continue;
    if (Clock::now() > backstop) {
      st.cancel();
      throw RequestError({.status = 500, .message = "the request did not finish", .type = "server_error"});
    }
    for (size_t i = 0; i < st.seqs.size(); ++i) {
      runtime::SeqEvent e;
      if (st.choices[i].done) continue;
      if (st.seqs[i]->next(e, std::chrono::milliseconds(50))) take_event(st, i, e, nullptr);
      break;
    }
  }
  for (const ChoiceState& c : st.choices) {
    if (!c.error.empty()) throw RequestError({.status = 500, .message = c.error, .type = "server_error"});
    if (c.timed_out)
      throw RequestError({.status = 408, .message = fmt::format("the request took longer than {} s", opt_.request_timeout_s),
                          .type = "timeout_error", .code = "request_timeout"});
    if (c.finish == runtime::FinishReason::cancelled)
      throw RequestError({.status = 503, .message = "the request was cancelled (server shutting down)", .type = "server_error"});
  }
  send_json(res, 200, full_answer(engine_, st.head, st.choices, st.params.n_logprobs, st.prompt_tokens));
}

// Called by httplib until sink.done(): waits briefly for events, writes their chunks, ends with [DONE].
bool Server::pump(Stream& st, httplib::DataSink& sink) {
  std::string out;
  const auto until = Clock::now() + std::chrono::milliseconds(100);
  bool got = false;
  while (!got && !st.all_done() && Clock::now() < until) {
    for (size_t i = 0; i < st.seqs.size(); ++i) {
      runtime::SeqEvent e;
      while (!st.choices[i].done && st.seqs[i]->next(e, Clock::duration::zero())) {
        take_event(st, i, e, &out);
        got = true;
      }
    }
    if (got) break;
    for (size_t i = 0; i < st.seqs.size(); ++i) {
      runtime::SeqEvent e;
      if (st.choices[i].done) continue;
      if (st.seqs[i]->next(e, std::chrono::milliseconds(20))) take_event(st, i, e, &out), got = true;
      break;
    }
  }
  if (!got && Clock::now() > st.deadline + std::chrono::seconds(10)) st.cancel();
  if (st.all_done()) {
    int completion = 0;
    std::string error;
    for (const ChoiceState& c : st.choices) {
      completion += c.n_gen;
      if (!c.error.empty()) error = c.error;
      else if (c.timed_out) error = fmt::format("the request took longer than {} s", opt_.request_timeout_s);
      else if (c.finish == runtime::FinishReason::cancelled && error.empty()) error = "the request was cancelled";
    }
    if (!error.empty()) out += sse(ApiError{.status = 500, .message = error, .type = "server_error"}.body());
    if (st.params.include_usage) out += sse(usage_chunk(st.head, st.prompt_tokens, completion));
    out += "data: [DONE]\n\n";
    st.finished = true;
  }
  if (!out.empty() && !sink.write(out.data(), out.size())) {
    st.cancel();
    return false;
  }
  if (st.finished) sink.done();
  return true;
}

}  // namespace slm::serve
