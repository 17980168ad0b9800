// Endpoint candidates against a loopback OpenAI-compatible server started here with cpp-httplib.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "eval/candidate.h"

namespace slm::eval {
namespace {

using nlohmann::json;

struct FakeServer {
  httplib::Server srv;
  std::thread th;
  int port = 0;
  std::string owned_by;
  json last_request;
  bool fail = false;
  explicit FakeServer(std::string owner) : owned_by(std::move(owner)) {
    srv.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json{{"object", "list"}, {"data", {{{"id", "tiny"}, {"owned_by", owned_by}}}}}.dump(), "application/json");
    });
    srv.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      last_request = json::parse(req.body);
      if (fail) {
        res.status = 500;
        res.set_content("{\"error\":\"boom\"}", "application/json");
        return;
      }
      // First token "sp" (p = 0.6) starts "spam", "h" (0.3) starts "ham", "x" (0.1) neither.
      const json top = json::array({{{"token", "sp"}, {"logprob", std::log(0.6)}}, {{"token", "h"}, {"logprob", std::log(0.3)}},
                                    {{"token", "x"}, {"logprob", std::log(0.1)}}});
      const json body = {{"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "Spam"}}},
                                        {"logprobs", {{"content", {{{"token", "Sp"}, {"logprob", -0.5}, {"top_logprobs", top}}}}}},
                                        {"finish_reason", "stop"}}}},
                         {"usage", {{"prompt_tokens", 12}, {"completion_tokens", 2}}}};
      res.set_content(body.dump(), "application/json");
    });
    port = srv.bind_to_any_port("127.0.0.1");
    th = std::thread([this] { srv.listen_after_bind(); });
    while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeServer() {
    srv.stop();
    th.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
};

TaskContract label_task() {
  TaskContract t;
  t.name = "spam";
  t.kind = OutputKind::label;
  t.labels = {"spam", "ham"};
  t.serving.max_tokens = 3;
  return t;
}

TEST(Endpoint, SlmServerGetsTheChoiceExtension) {
  FakeServer s("slm");
  const TaskContract t = label_task();
  auto c = make_endpoint_candidate(t, parse_endpoint_spec(s.url()));
  EXPECT_EQ(c->kind(), "endpoint");
  const Prediction p = c->predict("Buy now!");
  EXPECT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.label, 0);
  ASSERT_EQ(p.probs.size(), 2u);
  EXPECT_NEAR(p.probs[0], 0.6 / 0.9, 1e-9);
  EXPECT_NEAR(p.probs[1], 0.3 / 0.9, 1e-9);
  EXPECT_EQ(p.prompt_tokens, 12);
  EXPECT_EQ(p.completion_tokens, 2);
  EXPECT_EQ(s.last_request["model"], "tiny");
  EXPECT_EQ(s.last_request["response_format"]["type"], "choice");
  EXPECT_EQ(s.last_request["response_format"]["choices"], json({"spam", "ham"}));
  EXPECT_EQ(s.last_request["messages"][0]["content"], "Buy now!");
}

TEST(Endpoint, OtherServersGetPlainTextAndKeys) {
  FakeServer s("openai");
  setenv("SLM_TEST_KEY", "k123", 1);
  const TaskContract t = label_task();
  auto c = make_endpoint_candidate(t, parse_endpoint_spec(s.url() + ",SLM_TEST_KEY,my-model"));
  const Prediction p = c->predict("hello");
  EXPECT_EQ(p.label, 0);
  EXPECT_FALSE(s.last_request.contains("response_format"));
  EXPECT_EQ(s.last_request["model"], "my-model");
  EXPECT_EQ(s.last_request["logprobs"], true);
  s.fail = true;
  const Prediction bad = c->predict("hello");
  EXPECT_NE(bad.error.find("HTTP 500"), std::string::npos);
  EXPECT_THROW(make_endpoint_candidate(t, parse_endpoint_spec(s.url() + ",SLM_TEST_UNSET_KEY")), Error);
}

TEST(Endpoint, BadSpecsAndUnreachableServers) {
  const TaskContract t = label_task();
  EXPECT_THROW(parse_endpoint_spec(""), Error);
  EXPECT_THROW(make_endpoint_candidate(t, parse_endpoint_spec("ftp://x")), Error);
  EXPECT_THROW(make_endpoint_candidate(t, parse_endpoint_spec("https://x")), Error);
  EXPECT_THROW(make_endpoint_candidate(t, parse_endpoint_spec("http://127.0.0.1:1")), Error);
}

}  // namespace
}  // namespace slm::eval
