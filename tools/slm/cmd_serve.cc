// `slm serve`: the OpenAI-compatible HTTP server (continuous batching, structured output, metrics).
// SIGINT/SIGTERM drain: new requests get 503, running ones finish, then the process exits.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "commands.h"
#include "core/error.h"
#include "serve/server.h"

namespace slm::cli {
namespace {

int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  const ssize_t n = write(g_signal_pipe[1], &b, 1);  // async-signal-safe
  (void)n;
}

struct ServeFlags {
  serve::EngineOptions engine;
  serve::ServerOptions server;
  std::string api_key, api_key_file, template_file, kv_type = "f16";
  double max_body_mb = 1.0;
  bool no_prefix_cache = false;
  std::vector<std::string> loras;  // FILE[:scale]
};

void serve_main(ServeFlags& f) {
  if (!f.template_file.empty()) {
    std::ifstream in(f.template_file);
    if (!in) fail("[serve] cannot read chat template {}", f.template_file);
    std::stringstream ss;
    ss << in.rdbuf();
    f.engine.chat_template = ss.str();
  }
  if (!f.api_key.empty()) f.server.api_keys.push_back(f.api_key);
  if (!f.api_key_file.empty()) {
    for (std::string& k : serve::read_api_keys(f.api_key_file)) f.server.api_keys.push_back(std::move(k));
  }
  if (f.max_body_mb <= 0) fail("[serve] --max-body-mb must be positive");
  f.server.max_body = size_t(f.max_body_mb * 1024 * 1024);
  f.engine.scheduler.kv_type = f.kv_type == "f32" ? model::KvType::f32 : model::KvType::f16;
  f.engine.scheduler.prefix_cache = !f.no_prefix_cache;
  for (const std::string& spec : f.loras) {  // FILE[:scale]
    serve::LoraOption l{.path = spec};
    const size_t colon = spec.rfind(':');
    if (colon != std::string::npos && colon + 1 < spec.size() &&
        spec.find_first_not_of("0123456789.-+eE", colon + 1) == std::string::npos) {
      try {
        l.scale = std::stof(spec.substr(colon + 1));
      } catch (const std::exception&) {
        fail("[serve] --lora {}: the scale is not a number", spec);
      }
      l.path = spec.substr(0, colon);
    }
    f.engine.loras.push_back(std::move(l));
  }

  // SIGINT/SIGTERM write a byte to a pipe that one thread waits on. A handler (not a blocked mask plus
  // sigwait) because threads started before this point (a compute pool) would not have the mask, and a
  // signal delivered to one of them would kill the process instead of draining.
  if (pipe(g_signal_pipe) != 0) fail("[serve] cannot create the signal pipe");
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  serve::Engine engine(f.engine);
  serve::Server server(engine, f.server);
  const int port = server.bind();
  std::fprintf(stderr, "slm serve: %s on http://%s:%d (context %d, %d sequences, queue %d)\n",
               engine.model_id().c_str(), f.server.host.c_str(), port, engine.n_ctx(),
               f.engine.scheduler.max_seqs, f.engine.scheduler.max_queue);
  std::printf("listening on %s:%d\n", f.server.host.c_str(), port);  // tests read the port from here
  std::fflush(stdout);
  std::thread waiter([&server] {
    unsigned char sig = 0;
    while (read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig == 0) return;  // run() ended on its own
    std::fprintf(stderr, "slm serve: signal %d, draining\n", int(sig));
    server.stop(/*drain=*/true);
  });
  server.run();
  // run() returned: stopped by the signal thread (or the listener failed); make sure the waiter ends.
  const unsigned char none = 0;
  if (write(g_signal_pipe[1], &none, 1) != 1) std::perror("slm serve: signal pipe");
  waiter.join();
  std::fprintf(stderr, "slm serve: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
  auto f = std::make_shared<ServeFlags>();
  cmd->add_option("-m,--model", f->engine.model_path, "GGUF model or llama2.c .bin checkpoint")->required();
  cmd->add_option("--tokenizer", f->engine.tokenizer_path, "vocabulary for a .bin checkpoint");
  cmd->add_option("--model-id", f->engine.model_id, "name /v1/models reports (default: the file name)");
  cmd->add_option("--chat-template", f->template_file, "Jinja chat template file instead of the model's");
  cmd->add_option("--host", f->server.host, "address to bind (default 127.0.0.1: loopback only)");
  cmd->add_option("--port", f->server.port, "port (0 = any free port, printed on stdout)");
  cmd->add_option("--api-key", f->api_key, "require 'Authorization: Bearer KEY'");
  cmd->add_option("--api-key-file", f->api_key_file, "file of accepted keys, one per line");
  cmd->add_option("--cors-origin", f->server.cors_origin, "send CORS headers for this origin (default: off)");
  cmd->add_option("--max-body-mb", f->max_body_mb, "largest request body in MiB (default 1)");
  cmd->add_option("--timeout", f->server.request_timeout_s, "per-request time limit in seconds (default 300)");
  cmd->add_option("--read-timeout", f->server.read_timeout_s, "seconds a client may take to send its request");
  cmd->add_option("-c,--ctx", f->engine.scheduler.n_ctx, "context per sequence (0 = the model's, at most 4096)");
  cmd->add_option("--max-seqs", f->engine.scheduler.max_seqs, "sequences decoded together (default 8)");
  cmd->add_option("--max-queue", f->engine.scheduler.max_queue, "waiting sequences before 429 (default 64)");
  cmd->add_option("--step-tokens", f->engine.scheduler.step_tokens, "rows per batched step (default 256)");
  cmd->add_option("--kv-type", f->kv_type, "KV cache type: f16 or f32")->check(CLI::IsMember({"f16", "f32"}));
  cmd->add_option("--kv-block", f->engine.scheduler.kv_block, "positions per KV block (default 16)");
  cmd->add_option("--kv-blocks", f->engine.scheduler.kv_blocks,
                  "KV blocks in the shared pool (0 = max-seqs x context / kv-block)");
  cmd->add_option("--prefill-while-decoding", f->engine.scheduler.prefill_while_decoding,
                  "prompt rows per step while other sequences decode (default 64)");
  cmd->add_flag("--no-prefix-cache", f->no_prefix_cache, "recompute shared prompt prefixes");
  cmd->add_option("--lora", f->loras,
                  "GGUF LoRA adapter FILE[:scale] (repeatable); requests pick it with model = the file name "
                  "without .gguf");
  cmd->add_option("--http-threads", f->server.http_threads, "HTTP worker threads (0 = max-seqs + 72)");
  cmd->callback([f] { serve_main(*f); });
}

}  // namespace slm::cli
