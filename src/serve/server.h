// The HTTP front: routes (OpenAI endpoints, /health, /metrics, /tokenize, /detokenize), API keys, CORS,
// body and time limits, SSE streaming, admission answers (429), and graceful shutdown. Built on
// cpp-httplib; everything model-side goes through the Engine.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "serve/engine.h"
#include "serve/metrics.h"

namespace httplib {
class Server;
class Request;
class Response;
class DataSink;
}  // namespace httplib

namespace slm::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0: any free port (bind() returns it)
  std::vector<std::string> api_keys;   // empty: no authentication
  std::string cors_origin;             // "": no CORS headers
  size_t max_body = size_t(1) << 20;   // bytes; larger bodies get 413
  double request_timeout_s = 300;      // per request, from arrival to the last token
  int read_timeout_s = 10;             // a client that sends its request slower than this is dropped
  int http_threads = 0;                // 0: max_seqs + max_queue + 8
};

// Reads API keys, one per line (blank lines and lines starting with '#' skipped).
std::vector<std::string> read_api_keys(const std::string& path);
// Equal strings, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

class Server {
 public:
  Server(Engine& engine, ServerOptions opt);
  ~Server();

  int bind();  // binds host:port; returns the port; throws slm::Error when it cannot
  void run();  // serves until stop(); call after bind()
  // drain: refuse new requests (503), finish the running ones, then close. Thread-safe; returns at once.
  void stop(bool drain);

  Metrics& metrics() { return metrics_; }

 private:
  struct Stream;
  void routes();
  bool authorized(const httplib::Request& req) const;
  void generate(const httplib::Request& req, httplib::Response& res, bool chat);
  void respond_full(Stream& st, httplib::Response& res);
  bool pump(Stream& st, httplib::DataSink& sink);
  void take_event(Stream& st, size_t i, runtime::SeqEvent& e, std::string* out);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);

  Engine& engine_;
  ServerOptions opt_;
  std::unique_ptr<httplib::Server> http_;
  Metrics metrics_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> draining_{false};
};

}  // namespace slm::serve
