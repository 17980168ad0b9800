// `slm bench serve`: the server under concurrent streaming clients over loopback HTTP. For each
// concurrency level: aggregate generated tokens/s, time to first token and inter-token latency (p50/p99),
// then the per-token cost of a structured-output constraint (json_object) at concurrency 1.
#include <httplib.h>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "serve/server.h"

namespace slm::cli {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

struct BenchServeFlags {
  std::string model, kv_type = "f16";
  std::vector<int> concurrency = {1, 4, 16, 64};
  int n_prompt = 64, n_gen = 64, max_seqs = 0, max_queue = 0, step_tokens = 512;
  int shared_prefix = 0;  // leading prompt tokens every request shares (a task's instructions)
  int requests = 4;       // per client, one after another: the level runs at its concurrency, not a burst
  int repeat = 3;         // rounds over all the levels; each level reports its median round
};

struct ClientResult {
  double ttft = 0;
  std::vector<double> itl;
  int tokens = 0;
  bool ok = false;
  int status = 0;   // HTTP status; 0 when no answer came
  std::string why;  // for a failed request: the HTTP status or client error
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(double(v.size()) * p))];
}

// One streaming completion; chunk arrival times stand for token times.
ClientResult stream_one(int port, const json& body) {
  ClientResult r;
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = body.dump();
  const auto t0 = Clock::now();
  auto last = t0;
  bool first = true;
  std::string buf;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buf.append(data, n);
    for (size_t at; (at = buf.find("\n\n")) != std::string::npos; buf.erase(0, at + 2)) {
      const std::string ev = buf.substr(0, at);
      if (ev.rfind("data: {", 0) != 0) continue;
      const json j = json::parse(ev.substr(6), nullptr, false);
      if (j.contains("usage") && j["usage"].is_object()) r.tokens = j["usage"]["completion_tokens"].get<int>();
      if (!j.contains("choices") || j["choices"].empty() || j["choices"][0]["text"].get<std::string>().empty()) continue;
      const auto now = Clock::now();
      if (first) {
        r.ttft = ms(now - t0);
        first = false;
      } else {
        r.itl.push_back(ms(now - last));
      }
      last = now;
    }
    return true;
  };
  auto res = c.send(req);
  r.status = res ? res->status : 0;
  r.ok = r.status == 200;
  if (!r.ok) r.why = res ? fmt::format("HTTP {}", res->status) : httplib::to_string(res.error());
  return r;
}

json request_body(const BenchServeFlags& f, const serve::Engine& e, int request, bool constrained) {
  Rng rng(uint64_t(1000 + request));
  const int n_vocab = e.tokenizer().n_vocab();
  json prompt = json::array();
  Rng common(999);  // the shared prefix: the same ids for every client
  for (int i = 0; i < f.n_prompt; ++i)
    prompt.push_back(int((i < f.shared_prefix ? common : rng).below(uint64_t(n_vocab))));
  json bias = json::object();  // no early end: every sequence generates n_gen tokens
  for (int32_t id = 0; id < n_vocab && bias.size() < 64; ++id) {
    if (e.tokenizer().is_eog(id)) bias[std::to_string(id)] = -100;
  }
  json b = {{"prompt", prompt}, {"max_tokens", f.n_gen}, {"temperature", 0}, {"stream", true},
            {"stream_options", {{"include_usage", true}}}};
  if (constrained) {
    b["response_format"] = {{"type", "json_object"}};
  } else if (!bias.empty()) {
    b["logit_bias"] = bias;
  }
  return b;
}

struct Level {
  double tps = 0, ttft50 = 0, ttft99 = 0, itl50 = 0, itl99 = 0;
  double wall_ms = 0, step_ms = 0, forward_ms = 0;  // the level's wall time; the scheduler's steps within it
  int64_t steps = 0, rows = 0;
  int tokens = 0, failed = 0, rejected = 0;  // rejected: 429 (admission), not counted as failed
  std::string why;
};

// n clients, each sending `requests` streaming requests one after another. Prompts come from request ids
// first, first + 1, ...: distinct across levels and rounds, so only --shared-prefix is ever a cache hit.
Level run_level(const BenchServeFlags& f, serve::Engine& e, int port, int n, int requests, int first,
                bool constrained) {
  std::vector<ClientResult> res(static_cast<size_t>(n * requests));
  std::vector<std::thread> threads;
  const runtime::SchedulerStats& st = e.scheduler().stats();
  const int64_t steps0 = st.steps, rows0 = st.step_rows, step0 = st.step_ns, fwd0 = st.forward_ns;
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < requests; ++k) {
        const int at = i * requests + k;
        res[size_t(at)] = stream_one(port, request_body(f, e, first + at, constrained));
      }
    });
  for (std::thread& t : threads) t.join();
  const double wall = ms(Clock::now() - t0) / 1000.0;
  Level l;
  l.wall_ms = wall * 1000.0, l.steps = st.steps - steps0, l.rows = st.step_rows - rows0;
  l.step_ms = double(st.step_ns - step0) / 1e6, l.forward_ms = double(st.forward_ns - fwd0) / 1e6;
  std::vector<double> ttft, itl;
  for (const ClientResult& r : res) {
    if (r.status == 429) {
      ++l.rejected;
    } else if (!r.ok) {
      ++l.failed, l.why = r.why;
    }
    l.tokens += r.tokens;
    ttft.push_back(r.ttft);
    itl.insert(itl.end(), r.itl.begin(), r.itl.end());
  }
  l.tps = wall > 0 ? l.tokens / wall : 0;
  l.ttft50 = pct(ttft, 0.5), l.ttft99 = pct(ttft, 0.99), l.itl50 = pct(itl, 0.5), l.itl99 = pct(itl, 0.99);
  return l;
}

// The forward pass alone for one decode step of c sequences (each holding prompt + gen/2 positions):
// milliseconds per step, median of 5. The ceiling the scheduler and HTTP layers can approach.
double decode_step_ms(const model::Model& m, const BenchServeFlags& f, int c) {
  model::KvCache kv = m.make_cache({.n_seq = c, .n_ctx = f.n_prompt + f.n_gen + 8});
  const int pos = f.n_prompt + f.n_gen / 2;
  std::vector<double> t;
  std::vector<float> logits(size_t(c) * size_t(m.n_vocab()));
  for (int rep = 0; rep < 6; ++rep) {
    model::Batch b;
    for (int s = 0; s < c; ++s) {
      kv.set_seq_len(s, pos);  // timing only: the rows' contents do not matter
      b.add(int32_t((s * 7 + rep) % m.n_vocab()), pos, s, true);
    }
    const auto t0 = Clock::now();
    m.forward(b, kv, logits);
    if (rep > 0) t.push_back(ms(Clock::now() - t0));
  }
  return pct(t, 0.5);
}

void bench(const BenchServeFlags& f) {
  if (f.concurrency.empty()) fail("[bench] --concurrency needs at least one level");
  for (int c : f.concurrency) {
    if (c < 1 || c > 1024) fail("[bench] concurrency levels must be in [1, 1024], got {}", c);
  }
  if (f.n_prompt < 1 || f.n_gen < 1) fail("[bench] --prompt and --gen must be at least 1");
  if (f.shared_prefix < 0 || f.shared_prefix > f.n_prompt)
    fail("[bench] --shared-prefix must be in [0, --prompt], got {}", f.shared_prefix);
  serve::EngineOptions eo;
  eo.model_path = f.model;
  const int top = *std::max_element(f.concurrency.begin(), f.concurrency.end());
  eo.scheduler.max_seqs = f.max_seqs > 0 ? f.max_seqs : top;
  eo.scheduler.max_queue = f.max_queue > 0 ? f.max_queue : std::max(top, 64);
  eo.scheduler.n_ctx = f.n_prompt + f.n_gen + 8;
  eo.scheduler.step_tokens = std::max(f.step_tokens, eo.scheduler.max_seqs);
  eo.scheduler.kv_type = f.kv_type == "f32" ? model::KvType::f32 : model::KvType::f16;
  eo.scheduler.prefix_cache = f.shared_prefix > 0;  // distinct prompts: measure the plain path
  serve::Engine engine(eo);
  serve::ServerOptions so;
  so.port = 0;
  so.http_threads = top + 8;
  serve::Server server(engine, so);
  const int port = server.bind();
  std::thread http([&] { server.run(); });
  const std::string name = f.model.substr(f.model.find_last_of('/') + 1);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);  // the machine may be shared: the figures mean little without it
  std::printf("model %s, prompt %d, gen %d, %d requests per client, max-seqs %d, %u cores, load average %.1f\n",
              name.c_str(), f.n_prompt, f.n_gen, f.requests, eo.scheduler.max_seqs, std::thread::hardware_concurrency(),
              load[0]);
  int next_id = 0;  // request ids handed out so far
  const auto level = [&](int c, int requests, bool constrained) {
    const Level l = run_level(f, engine, port, c, requests, next_id, constrained);
    next_id += c * requests;
    return l;
  };
  level(1, 1, false);  // warm-up
  // Rounds over all the levels in turn, so that a slow spell of a shared machine lands on every level alike;
  // each level reports its median round (by tokens/s) and the range.
  std::vector<std::vector<Level>> rounds(f.concurrency.size());
  for (int r = 0; r < f.repeat; ++r) {
    for (size_t i = 0; i < f.concurrency.size(); ++i) {
      rounds[i].push_back(level(f.concurrency[i], f.requests, false));
      const Level& l = rounds[i].back();
      std::fprintf(stderr, "round %d, concurrency %d: %.1f tok/s\n", r + 1, f.concurrency[i], l.tps);
    }
  }
  std::printf("%11s %24s %10s %10s %10s %10s %8s\n", "concurrency", "gen tok/s (min-max)", "TTFT p50", "TTFT p99",
              "ITL p50", "ITL p99", "speedup");
  std::vector<Level> median(f.concurrency.size());
  for (size_t i = 0; i < f.concurrency.size(); ++i) {
    std::vector<Level>& v = rounds[i];
    std::sort(v.begin(), v.end(), [](const Level& a, const Level& b) { return a.tps < b.tps; });
    median[i] = v[v.size() / 2];
  }
  const double base = median[0].tps / f.concurrency[0];  // tokens/s per stream at the first level
  for (size_t i = 0; i < f.concurrency.size(); ++i) {
    const std::vector<Level>& v = rounds[i];
    const Level& l = median[i];
    const int c = f.concurrency[i];
    int rejected = 0, failed = 0;
    std::string why;
    for (const Level& x : v) rejected += x.rejected, failed += x.failed, why = x.failed ? x.why : why;
    std::string note;
    if (rejected) note += fmt::format(" ({} rejected with 429)", rejected);
    if (failed) note += fmt::format(" ({} failed: {})", failed, why);
    const std::string tps = fmt::format("{:.1f} ({:.1f}-{:.1f})", l.tps, v.front().tps, v.back().tps);
    std::printf("%11d %24s %8.1fms %8.1fms %8.2fms %8.2fms %7.2fx%s\n", c, tps.c_str(), l.ttft50, l.ttft99, l.itl50,
                l.itl99, base > 0 ? l.tps / base : 0.0, note.c_str());
  }
  std::fflush(stdout);
  getloadavg(load, 3);
  std::printf("load average after the levels: %.1f\n", load[0]);
  // The median round's wall time = scheduler steps (forward pass + sampling, streaming, bookkeeping) + time
  // with no step running (requests arriving, HTTP, the scheduler waiting for work).
  std::printf("%11s %10s %6s %7s %11s %11s %11s\n", "concurrency", "wall", "steps", "rows", "step", "forward",
              "not in step");
  for (size_t i = 0; i < f.concurrency.size(); ++i) {
    const Level& l = median[i];
    std::printf("%11d %8.0fms %6lld %7.1f %9.2fms %9.2fms %9.0fms\n", f.concurrency[i], l.wall_ms,
                static_cast<long long>(l.steps), l.steps ? double(l.rows) / double(l.steps) : 0.0,
                l.steps ? l.step_ms / double(l.steps) : 0.0, l.steps ? l.forward_ms / double(l.steps) : 0.0,
                l.wall_ms - l.step_ms);
  }
  {
    const runtime::SchedulerStats& st = engine.scheduler().stats();
    std::printf("prompt tokens %lld, from the prefix cache %lld\n", static_cast<long long>(st.prompt_tokens.load()),
                static_cast<long long>(st.prompt_tokens_cached.load()));
  }
  // What the kernels allow: one batched decode step of c rows against one row, forward pass only.
  const double one = decode_step_ms(engine.scheduler().model(), f, 1);
  for (int c : f.concurrency) {
    const double t = c == 1 ? one : decode_step_ms(engine.scheduler().model(), f, c);
    std::printf("forward only, decode step of %d rows: %.2f ms = %.1f tok/s (%.2fx one row)\n", c, t, c * 1000.0 / t,
                c * one / t);
  }
  // Structured output: the constraint's share of each token (mask + advance), json_object, one stream.
  const runtime::SchedulerStats& st = engine.scheduler().stats();
  const int64_t n0 = st.constrained_tokens, ns0 = st.constraint_ns;
  const Level lc = level(1, 1, true);
  const int64_t n1 = st.constrained_tokens - n0, ns1 = st.constraint_ns - ns0;
  std::printf("json_object, 1 stream: %.1f tok/s, constraint %.1f us/token over %lld tokens (ITL p50 %.2fms)\n",
              lc.tps, n1 > 0 ? double(ns1) / double(n1) / 1000.0 : 0.0, static_cast<long long>(n1), lc.itl50);
  server.stop(false);
  http.join();
}

}  // namespace

void register_bench_serve(CLI::App& app) {
  auto f = std::make_shared<BenchServeFlags>();
  CLI::App* cmd = bench_group(app)->add_subcommand("serve", "Server throughput and latency under concurrent streams");
  cmd->add_option("-m,--model", f->model, "GGUF model")->required();
  cmd->add_option("--concurrency", f->concurrency, "concurrent streams per level (1,4,16,64)")->delimiter(',');
  cmd->add_option("--prompt", f->n_prompt, "prompt tokens per request");
  cmd->add_option("--shared-prefix", f->shared_prefix,
                  "leading prompt tokens all requests share (turns the prefix cache on)");
  cmd->add_option("--gen", f->n_gen, "generated tokens per request");
  cmd->add_option("-r,--repeat", f->repeat, "rounds over all the levels (the median round is reported)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--requests", f->requests, "requests each client sends one after another (1: a single burst)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-seqs", f->max_seqs, "scheduler slots (0 = the highest concurrency)");
  cmd->add_option("--step-tokens", f->step_tokens, "rows per batched step");
  cmd->add_option("--max-queue", f->max_queue, "scheduler queue (0 = max(64, the highest concurrency))");
  cmd->add_option("--kv-type", f->kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}));
  cmd->callback([f] { bench(*f); });
}

}  // namespace slm::cli
