// `slm run` and `slm chat` end to end: the real stories260K model reproduces llama2.c's greedy text from
// the GGUF and from both .bin checkpoints; --json parses; seeds repeat; chat answers two lines and exits.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "common/testdata.h"

namespace slm {
namespace {

struct Output {
  int rc = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `slm ARGS` (stdin from `input` when not empty); captures stdout, stderr and the exit code.
Output run_slm(const std::string& args, const std::string& input = "") {
  testing::TempDir dir;
  std::string cmd = quote(SLM_EXE) + " " + args + " 2>" + quote(dir.file("err"));
  if (!input.empty()) {
    std::ofstream(dir.file("in"), std::ios::binary) << input;
    cmd += " <" + quote(dir.file("in"));
  } else {
    cmd += " </dev/null";
  }
  Output o;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return o;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) o.out.append(buf, n);
  const int status = pclose(p);
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(dir.file("err"), std::ios::binary);
  o.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  return o;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(RunE2E, Stories260kGgufGreedyMatchesLlama2c) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const std::string expected = read_file(dir / "expected_greedy_t0_n200.txt");
  ASSERT_FALSE(expected.empty());
  const Output o = run_slm("run -m " + quote((dir / "stories260K.gguf").string()) + " -p '' -n 200 --temp 0");
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.out, expected + "\n");  // the file is llama2.c's stdout without its final newline
  EXPECT_NE(o.err.find("tokens/s"), std::string::npos) << o.err;
  // The same with an F32 KV cache.
  const Output f32 =
      run_slm("run -m " + quote((dir / "stories260K.gguf").string()) + " -p '' -n 200 --temp 0 --kv-type f32");
  EXPECT_EQ(f32.out, expected + "\n");
}

TEST(RunE2E, Stories260kBinCheckpointsMatchLlama2c) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const std::string expected = read_file(dir / "expected_greedy_t0_n200.txt");
  for (const char* bin : {"stories260K.bin", "stories260K.v1.bin"}) {
    const Output o = run_slm("run -m " + quote((dir / bin).string()) + " --tokenizer " +
                             quote((dir / "tok512.bin").string()) + " -p '' -n 200 --temp 0");
    ASSERT_EQ(o.rc, 0) << bin << ": " << o.err;
    EXPECT_EQ(o.out, expected + "\n") << bin;
  }
}

TEST(RunE2E, IdsFromBinWithoutVocabularyEqualIdsFromGguf) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const Output bin = run_slm("run -m " + quote((dir / "stories260K.bin").string()) + " -p '' -n 50 --temp 0");
  const Output gguf =
      run_slm("run -m " + quote((dir / "stories260K.gguf").string()) + " -p '' -n 50 --temp 0 --ids");
  ASSERT_EQ(bin.rc, 0) << bin.err;
  ASSERT_EQ(gguf.rc, 0) << gguf.err;
  EXPECT_EQ(bin.out, gguf.out);
  std::istringstream in(gguf.out);
  int id, n = 0;
  while (in >> id) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 512);
    ++n;
  }
  EXPECT_EQ(n, 50);
}

TEST(RunE2E, JsonParsesWithTextIdsAndTimings) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const std::string expected = read_file(dir / "expected_greedy_t0_n200.txt");
  const Output o =
      run_slm("run -m " + quote((dir / "stories260K.gguf").string()) + " -p '' -n 200 --temp 0 --json --logprobs 2");
  ASSERT_EQ(o.rc, 0) << o.err;
  const nlohmann::json j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["text"], expected);
  EXPECT_EQ(j["ids"].size(), 200u);
  EXPECT_EQ(j["prompt_ids"], nlohmann::json::array({1}));
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_EQ(j["timings"]["n_prompt"], 1);
  EXPECT_EQ(j["timings"]["n_gen"], 200);
  EXPECT_GE(j["timings"]["gen_tps"].get<double>(), 0.0);
  ASSERT_EQ(j["logprobs"].size(), 200u);
  EXPECT_EQ(j["logprobs"][0]["top"].size(), 2u);
  EXPECT_EQ(j["logprobs"][0]["top"][0]["id"], j["ids"][0]);  // greedy takes the most likely
}

TEST(RunE2E, SameSeedSameTextAndPromptContinues) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const std::string args =
      "run -m " + quote((dir / "stories260K.gguf").string()) + " -p 'Lily went' -n 40 --temp 0.9 --top-k 20 --json";
  const Output a = run_slm(args + " --seed 11"), b = run_slm(args + " --seed 11"), c = run_slm(args + " --seed 12");
  ASSERT_EQ(a.rc, 0) << a.err;
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out), jc = nlohmann::json::parse(c.out);
  EXPECT_EQ(ja["ids"], jb["ids"]);
  EXPECT_NE(ja["ids"], jc["ids"]);
  EXPECT_EQ(ja["seed"], 11);
  EXPECT_GT(ja["prompt_ids"].size(), 2u);
  // A continuation keeps its leading space ("Lily went" + " to ...").
  EXPECT_EQ(ja["text"].get<std::string>().substr(0, 1), " ");
}

// Tokenizer, forward pass and greedy sampling together: every non-quantised synthetic model reproduces
// llama.cpp's prompt ids and 16 greedy ids (F32 KV cache as in the references; EOG ignored as there).
TEST(RunE2E, SyntheticModelsReproduceLlamaCppGreedyIds) {
  SLM_REQUIRE_TESTDATA(dir, "models/synthetic");
  for (const char* name : {"llama-tok512-f32", "llama-f32", "qwen2-f16", "qwen3-bf16", "phi3-f16", "gemma2-f16"}) {
    const nlohmann::json ref = nlohmann::json::parse(read_file(dir / (std::string(name) + ".ref.json")));
    for (const nlohmann::json& p : ref["prompts"]) {
      const Output o = run_slm("run -m " + quote((dir / (std::string(name) + ".gguf")).string()) + " -p " +
                               quote(p["text"].get<std::string>()) +
                               " -n 16 --temp 0 --json --ignore-eos --kv-type f32");
      ASSERT_EQ(o.rc, 0) << name << ": " << o.err;
      const nlohmann::json j = nlohmann::json::parse(o.out);
      EXPECT_EQ(j["prompt_ids"], p["token_ids"]) << name << " " << p["name"];
      EXPECT_EQ(j["ids"], p["greedy_ids"]) << name << " " << p["name"];
    }
  }
}

TEST(RunE2E, StopStringEndsTheText) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const Output o = run_slm("run -m " + quote((dir / "stories260K.gguf").string()) +
                           " -p '' -n 200 --temp 0 --json --stop 'little girl'");
  ASSERT_EQ(o.rc, 0) << o.err;
  const nlohmann::json j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["text"], "Once upon a time, there was a ");
  EXPECT_EQ(j["finish_reason"], "stop_string");
}

TEST(RunE2E, BadInputGivesAnErrorNotACrash) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const Output missing = run_slm("run -m /nonexistent/model.gguf -p hi");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("slm: error:"), std::string::npos) << missing.err;
  const Output no_vocab = run_slm("run -m " + quote((dir / "stories260K.bin").string()) + " -p hello");
  EXPECT_EQ(no_vocab.rc, 1);
  EXPECT_NE(no_vocab.err.find("--tokenizer"), std::string::npos) << no_vocab.err;
  const Output bad_top_p = run_slm("run -m " + quote((dir / "stories260K.gguf").string()) + " -p hi --top-p 0");
  EXPECT_EQ(bad_top_p.rc, 1) << bad_top_p.err;
  const Output too_long = run_slm("run -m " + quote((dir / "stories260K.gguf").string()) +
                                  " -p 'Once upon a time there was a girl' -c 4");
  EXPECT_EQ(too_long.rc, 1) << too_long.err;
  EXPECT_NE(too_long.err.find("context"), std::string::npos) << too_long.err;
}

TEST(BenchE2E, GenerateReportsOneRowPerBatchSize) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const Output o = run_slm("bench generate -m " + quote((dir / "stories260K.gguf").string()) +
                           " --prompt 8 --gen 8 --batch 1 --batch 3 --repeat 1");
  ASSERT_EQ(o.rc, 0) << o.err;
  std::istringstream in(o.out);
  std::string header, name;
  std::getline(in, header);
  EXPECT_NE(header.find("gen tok/s"), std::string::npos) << o.out;
  for (int batch : {1, 3}) {
    int b = 0, n_prompt = 0, n_gen = 0;
    double pp = -1, tg = -1;
    ASSERT_TRUE(in >> name >> b >> n_prompt >> pp >> n_gen >> tg) << o.out;
    EXPECT_EQ(name, "stories260K.gguf");
    EXPECT_EQ(b, batch);
    EXPECT_EQ(n_prompt, 8 * batch);
    EXPECT_EQ(n_gen, 8 * batch);
    EXPECT_GT(pp, 0.0);
    EXPECT_GT(tg, 0.0);
  }
}

// The server under concurrent streaming clients on loopback: a row per level with its median round, every
// request answered (no failure or 429 note), generated tokens accounted for, the steps table and the
// json_object line.
TEST(BenchE2E, ServeReportsEveryLevelWithoutFailures) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const Output o = run_slm("bench serve -m " + quote((dir / "stories260K.gguf").string()) +
                           " --concurrency 1,3 --prompt 8 --gen 6 -r 2 --requests 2");
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.out.find("failed"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("rejected"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("2 requests per client"), std::string::npos) << o.out;
  for (int c : {1, 3}) {  // "  c  tps (min-max)  TTFT ..." and the steps table's "  c  wall  steps ..."
    const std::string row = "\n" + std::string(10, ' ') + std::to_string(c) + " ";
    const size_t at = o.out.find(row);
    ASSERT_NE(at, std::string::npos) << "no row for concurrency " << c << ":\n" << o.out;
    std::istringstream in(o.out.substr(at));
    int level = 0;
    double tps = 0;
    ASSERT_TRUE(in >> level >> tps) << o.out;
    EXPECT_EQ(level, c);
    EXPECT_GT(tps, 0.0) << o.out;
    EXPECT_NE(o.out.find(row, at + 1), std::string::npos) << "no steps row for concurrency " << c << ":\n" << o.out;
  }
  // a warm-up request, then two rounds of 1 x 2 + 3 x 2 requests, 8 prompt tokens each
  EXPECT_NE(o.out.find("prompt tokens " + std::to_string(8 * (1 + 2 * (1 * 2 + 3 * 2)))), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("json_object, 1 stream"), std::string::npos) << o.out;
}

TEST(ChatE2E, AnswersTwoLinesReusingTheCacheAndExits) {
  SLM_REQUIRE_TESTDATA(model, "models/synthetic/phi3-f16.gguf");
  const Output o = run_slm("chat -m " + quote(model.string()) + " --temp 0 -n 12 --timings --system 'Be brief.'",
                           "Hello there\nWhat is two plus two?\n");
  ASSERT_EQ(o.rc, 0) << o.err;
  // One reply line per user line (the synthetic model's words are random, but there are words).
  size_t lines = 0;
  for (char ch : o.out) lines += ch == '\n';
  EXPECT_EQ(lines, 2u) << o.out;
  EXPECT_GT(o.out.size(), 4u);
  // Turn two found the first turn's prompt in the cache.
  const size_t second = o.err.find('\n') + 1;
  ASSERT_NE(second, std::string::npos + 1) << o.err;
  EXPECT_NE(o.err.find("(0 cached)"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("(0 cached)", second), std::string::npos) << o.err;
}

TEST(ChatE2E, ExitCommandAndEmptyInputQuitCleanly) {
  SLM_REQUIRE_TESTDATA(model, "models/synthetic/phi3-f16.gguf");
  const Output quit = run_slm("chat -m " + quote(model.string()) + " --temp 0 -n 4", "/exit\nnot read\n");
  EXPECT_EQ(quit.rc, 0) << quit.err;
  EXPECT_EQ(quit.out, "");
  const Output eof = run_slm("chat -m " + quote(model.string()) + " --temp 0 -n 4");
  EXPECT_EQ(eof.rc, 0) << eof.err;
  EXPECT_EQ(eof.out, "");
}

TEST(ChatE2E, ModelWithoutTemplateIsAnError) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const Output o = run_slm("chat -m " + quote((dir / "stories260K.gguf").string()), "hi\n");
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("chat template"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace slm
