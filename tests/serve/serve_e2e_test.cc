// `slm serve` end to end on loopback: the Node openai-client suite (tests/node/serve), bad requests that
// must get a 4xx while the server keeps serving, slow clients, mid-stream disconnects, admission (429),
// the prefix cache in /metrics, API keys and draining shutdown. Every wait is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/testdata.h"
#include "core/dtype.h"
#include "io/gguf.h"

namespace slm {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A `slm serve` child process on a free loopback port.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(SLM_EXE));
      argv.push_back(const_cast<char*>("serve"));
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(SLM_EXE, argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[256] = {};
    if (f && std::fgets(line, sizeof line, f)) {  // "listening on 127.0.0.1:PORT"
      const std::string s = line;
      port_ = std::atoi(s.substr(s.rfind(':') + 1).c_str());
    }
    out_ = f;
  }
  ~ServerProcess() { stop(); }
  // SIGTERM (drain) and wait up to 20 s; returns the exit status or -1.
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        pid_ = -1;
        if (out_) fclose(out_);
        out_ = nullptr;
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }
  int port() const { return port_; }
  bool ok() const { return pid_ > 0 && port_ > 0; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0, status_ = -1;
  FILE* out_ = nullptr;
};

int connect_raw(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{.tv_sec = 20, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

double metric(httplib::Client& c, const std::string& name) {
  auto r = c.Get("/metrics");
  if (!r) return -1;
  size_t at = r->body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atof(r->body.c_str() + at + name.size() + 2);
}

class ServeE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    model_ = dir_->file("tiny.gguf");
    const std::string cmd = std::string(SLM_EXE) + " synth-model --shape tiny -o " + model_ + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    server_ = new ServerProcess({"-m", model_, "--port", "0", "--max-seqs", "4", "--max-queue", "8", "--max-body-mb",
                                 "0.0625", "--read-timeout", "2", "--timeout", "60"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << "slm serve did not start"; }
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string model_;
  static inline ServerProcess* server_ = nullptr;
};

TEST_F(ServeE2E, NodeOpenAiClientSuite) {
  const fs::path root = SLM_SOURCE_DIR;
  if (!fs::exists(root / "node_modules" / "openai") || !fs::exists(root / "node_modules" / "ajv"))
    GTEST_SKIP() << "node_modules/openai or ajv absent: run scripts/bootstrap";
  const std::string cmd = "cd '" + root.string() + "' && SLM_SERVE_URL=http://127.0.0.1:" +
                          std::to_string(server_->port()) +
                          " SLM_SERVE_MODEL=tiny.gguf timeout 80 node --test tests/node/serve/ 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = pclose(p);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out;
  EXPECT_NE(out.find("# fail 0"), std::string::npos) << out;
}

TEST_F(ServeE2E, BadRequestsGet4xxAndServerKeepsServing) {
  httplib::Client c = server_->client();
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  const std::vector<std::pair<std::string, int>> cases = {
      {"not json", 400},
      {"[1,2]", 400},
      {"{" + msgs + ",\"max_tokens\":\"ten\"}", 400},
      {"{" + msgs + ",\"temperature\":-1}", 400},
      {"{" + msgs + ",\"frobnicate\":true}", 400},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", 400},  // ill-formed UTF-8
      {"{\"messages\":[]}", 400},
      {"{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400},
      {"{\"messages\":[{\"role\":\"user\"}]}", 400},
      {"{" + msgs + ",\"max_tokens\":-5}", 400},
      {"{" + msgs + ",\"max_tokens\":99999999999}", 400},
      {"{" + msgs + ",\"n\":1000}", 400},
      {"{" + msgs + ",\"logit_bias\":{\"99999\":5}}", 400},
      {"{" + msgs + ",\"response_format\":{\"type\":\"yaml\"}}", 400},
      {"{" + msgs + ",\"stream_options\":{\"include_usage\":true}}", 400},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"" + std::string(3000, 'z') + " " + std::string(3000, 'q') + "\"}]}", 400},
  };
  for (const auto& [body, status] : cases) {
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, status) << body.substr(0, 200) << " -> " << r->body;
    const json j = json::parse(r->body, nullptr, false);
    EXPECT_TRUE(j.contains("error") && j["error"].contains("message")) << r->body;
  }
  auto big = c.Post("/v1/completions", "{\"prompt\":\"" + std::string(200000, 'a') + "\"}", "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto tok = c.Post("/tokenize", R"({"prompt":"hello world"})", "application/json");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->status, 200);
  const json ids = json::parse(tok->body)["tokens"];
  auto detok = c.Post("/detokenize", json{{"tokens", ids}}.dump(), "application/json");
  ASSERT_TRUE(detok);
  EXPECT_EQ(detok->status, 200);
  EXPECT_NE(json::parse(detok->body)["prompt"].get<std::string>().find("hello"), std::string::npos) << detok->body;
  EXPECT_EQ(c.Post("/detokenize", R"({"tokens":[-1]})", "application/json")->status, 400);
  EXPECT_EQ(c.Get("/nope")->status, 404);
  auto ok = c.Post("/v1/completions", R"({"prompt":"hi","max_tokens":3,"temperature":0})", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(c.Get("/health")->status, 200);
}

TEST_F(ServeE2E, SlowClientIsDroppedAndOthersAreServed) {
  const int fd = connect_raw(server_->port());
  ASSERT_GE(fd, 0);
  const std::string partial = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"pro";
  ASSERT_EQ(send(fd, partial.data(), partial.size(), 0), ssize_t(partial.size()));
  httplib::Client c = server_->client();
  auto r = c.Post("/v1/completions", R"({"prompt":"hi","max_tokens":2})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  char buf[512];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);  // the server gives up on the body after --read-timeout
  EXPECT_LE(n, ssize_t(sizeof buf));
  EXPECT_NE(n, -1) << "the slow connection was not closed within 20 s";
  close(fd);
}

TEST_F(ServeE2E, DisconnectMidStreamFreesTheSlot) {
  const int fd = connect_raw(server_->port());
  ASSERT_GE(fd, 0);
  const std::string body = R"({"prompt":"Once upon a time","max_tokens":400,"stream":true,"temperature":0})";
  const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(send(fd, req.data(), req.size(), 0), ssize_t(req.size()));
  char buf[4096];
  std::string got;
  for (int i = 0; i < 50 && got.find("data: ") == std::string::npos; ++i) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, size_t(n));
  }
  ASSERT_NE(got.find("data: "), std::string::npos) << got;
  close(fd);  // gone mid-stream
  httplib::Client c = server_->client();
  double active = -1;
  for (int i = 0; i < 100; ++i) {  // 10 s at most
    active = metric(c, "slm_active_sequences");
    if (active == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(active, 0);
  EXPECT_LT(metric(c, "slm_generation_tokens_total"), 2000);
}

TEST_F(ServeE2E, AdmissionControlAnswers429WithRetryAfter) {
  httplib::Client c = server_->client();
  // 16 choices exceed the queue of 8: refused as a whole.
  auto r = c.Post("/v1/completions", R"({"prompt":"hi","max_tokens":2,"n":16})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_GE(metric(c, "slm_requests_rejected_total"), 1);
}

TEST_F(ServeE2E, PrefixCacheIsHitAndOutputsUnchanged) {
  httplib::Client c = server_->client();
  const std::string shared = "You are a careful assistant. Answer in one word. Task instructions repeated. ";
  const double before = metric(c, "slm_prompt_tokens_cached_total");
  std::vector<std::string> texts;
  for (int i = 0; i < 3; ++i) {
    auto r = c.Post("/v1/completions", json{{"prompt", shared + "Question."}, {"max_tokens", 6}, {"temperature", 0}}.dump(),
                    "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    texts.push_back(json::parse(r->body)["choices"][0]["text"]);
  }
  EXPECT_EQ(texts[0], texts[1]);
  EXPECT_EQ(texts[0], texts[2]);
  EXPECT_GT(metric(c, "slm_prompt_tokens_cached_total"), before);
  EXPECT_GT(metric(c, "slm_prefix_cache_hit_rate"), 0);
  auto m = c.Get("/metrics");
  for (const char* name : {"slm_requests_total{", "slm_queue_depth", "slm_kv_blocks_used", "slm_time_to_first_token_seconds_bucket",
                           "slm_inter_token_latency_seconds_bucket", "slm_prompt_tokens_total", "slm_generation_tokens_total"})
    EXPECT_NE(m->body.find(name), std::string::npos) << name;
}

TEST(ServeE2EKeys, ApiKeysAndDrainingShutdown) {
  testing::TempDir dir;
  const std::string model = dir.file("tiny.gguf");
  ASSERT_EQ(std::system((std::string(SLM_EXE) + " synth-model --shape tiny -o " + model + " >/dev/null 2>&1").c_str()), 0);
  std::FILE* keys = std::fopen(dir.file("keys").c_str(), "w");
  std::fputs("# keys\nsecret-two\n", keys);
  std::fclose(keys);
  ServerProcess s({"-m", model, "--port", "0", "--api-key", "secret-one", "--api-key-file", dir.file("keys")});
  ASSERT_TRUE(s.ok());
  httplib::Client c = s.client();
  const std::string body = R"({"prompt":"hi","max_tokens":2})";
  EXPECT_EQ(c.Post("/v1/completions", body, "application/json")->status, 401);
  EXPECT_EQ(c.Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer secret-on"}}, body, "application/json")->status, 401);
  EXPECT_EQ(c.Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer secret-one"}}, body, "application/json")->status, 200);
  EXPECT_EQ(c.Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer secret-two"}}, body, "application/json")->status, 200);
  EXPECT_EQ(c.Get("/health")->status, 200);
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  // A stream in flight when SIGTERM arrives still ends with [DONE]; the process exits 0.
  std::string streamed;
  std::atomic<bool> finished{false};
  std::thread t([&] {
    httplib::Client c2 = s.client();
    auto r = c2.Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer secret-one"}},
                     R"({"prompt":"Once","max_tokens":400,"stream":true,"temperature":0})", "application/json");
    if (r) streamed = r->body;
    finished = true;
  });
  httplib::Headers auth{{"Authorization", "Bearer secret-one"}};
  for (int i = 0; i < 200 && !finished; ++i) {  // until the stream is running (10 s at most)
    auto m = c.Get("/metrics", auth);
    if (m && m->body.find("\nslm_active_sequences 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(s.stop(), 0);
  t.join();
  EXPECT_NE(streamed.find("data: [DONE]"), std::string::npos) << streamed.substr(0, 300);
  EXPECT_NE(streamed.find("\"finish_reason\":\"length\""), std::string::npos);
}

TEST(ServeE2EBurst, FortyStreamsAtOnceAllFinish) {
  // More clients than slots and than cpp-httplib's default listen backlog: they queue, none fails.
  testing::TempDir dir;
  const std::string model = dir.file("tiny.gguf");
  ASSERT_EQ(std::system((std::string(SLM_EXE) + " synth-model --shape tiny -o " + model + " >/dev/null 2>&1").c_str()), 0);
  ServerProcess s({"-m", model, "--port", "0", "--max-seqs", "4", "--max-queue", "64"});
  ASSERT_TRUE(s.ok());
  std::vector<int> status(40, 0);
  std::vector<std::thread> ts;
  for (int i = 0; i < 40; ++i)
    ts.emplace_back([&, i] {
      httplib::Client c = s.client();
      auto r = c.Post("/v1/completions",
                      json{{"prompt", "Story " + std::to_string(i)}, {"max_tokens", 4}, {"stream", true}}.dump(),
                      "application/json");
      status[size_t(i)] = r ? r->status : -1;
    });
  for (std::thread& t : ts) t.join();
  for (int i = 0; i < 40; ++i) EXPECT_EQ(status[size_t(i)], 200) << i;
}

// A rank-2 LoRA adapter on every attn_q and ffn_down of `model`, random F32 values (large enough to move
// greedy outputs).
void write_adapter(const std::string& model, const std::string& path) {
  const gguf::File f = gguf::File::open(model);
  gguf::Writer w;
  w.add_kv("general.architecture", {*f.get_string("general.architecture")});
  w.add_kv("general.type", {std::string("adapter")});
  w.add_kv("adapter.type", {std::string("lora")});
  w.add_kv("adapter.lora.alpha", {2.0f});
  static std::vector<std::vector<float>> data;  // alive until write()
  data.clear();
  uint64_t state = 7;
  auto rnd = [&] { state = state * 6364136223846793005ull + 1442695040888963407ull; return float(int(state >> 40) % 2001 - 1000) / 400.0f; };
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;
  for (const gguf::TensorInfo& t : f.tensors()) {
    if (t.name.find("attn_q.weight") == std::string::npos && t.name.find("ffn_down.weight") == std::string::npos) continue;
    tensors.push_back({t.name + ".lora_a", {t.ne[0], 2}});  // A: (rank, in)
    tensors.push_back({t.name + ".lora_b", {2, t.ne[1]}});  // B: (out, rank)
  }
  data.reserve(tensors.size());
  for (const auto& [name, ne] : tensors) {
    data.emplace_back(size_t(ne[0] * ne[1]));
    for (float& x : data.back()) x = rnd();
    w.add_tensor(name, DType::F32, ne,
                 std::span(reinterpret_cast<const uint8_t*>(data.back().data()), data.back().size() * 4));
  }
  w.write(path);
}

TEST(ServeE2ELora, AdapterChosenPerRequestByModelName) {
  testing::TempDir dir;
  const std::string model = dir.file("tiny.gguf"), adapter = dir.file("style.gguf");
  ASSERT_EQ(std::system((std::string(SLM_EXE) + " synth-model --shape tiny -o " + model + " >/dev/null 2>&1").c_str()), 0);
  write_adapter(model, adapter);
  ServerProcess s({"-m", model, "--port", "0", "--lora", adapter + ":1.5", "--max-seqs", "4"});
  ASSERT_TRUE(s.ok());
  httplib::Client c = s.client();
  const json models = json::parse(c.Get("/v1/models")->body);
  ASSERT_EQ(models["data"].size(), 2u) << models.dump();
  EXPECT_EQ(models["data"][1]["id"], "style");
  EXPECT_EQ(models["data"][1]["parent"], "tiny.gguf");
  auto complete = [&](httplib::Client& cl, const std::string& name) -> std::string {
    json body = {{"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0}};
    if (!name.empty()) body["model"] = name;
    auto r = cl.Post("/v1/completions", body.dump(), "application/json");
    if (!r || r->status != 200) return "HTTP error " + (r ? r->body : std::string("none"));
    const json j = json::parse(r->body);
    EXPECT_EQ(j["model"], name.empty() ? "tiny.gguf" : name);
    return j["choices"][0]["text"];
  };
  const std::string base = complete(c, ""), base_named = complete(c, "tiny.gguf"), styled = complete(c, "style");
  EXPECT_EQ(base, base_named);
  EXPECT_NE(base, styled);  // the adapter changes the output
  // Base and adapter requests batched together each give what they give alone.
  std::vector<std::string> got(8);
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&, i] {
      httplib::Client cl = s.client();
      got[size_t(i)] = complete(cl, i % 2 ? "style" : "tiny.gguf");
    });
  for (std::thread& t : ts) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got[size_t(i)], i % 2 ? styled : base) << i;
  auto unknown = c.Post("/v1/completions", R"({"prompt":"hi","model":"nope"})", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("style"), std::string::npos);
}

}  // namespace
}  // namespace slm
