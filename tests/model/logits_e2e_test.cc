// `slm logits` end to end: --ids and -p write [n_tokens, n_vocab] float32 logits equal to the library's
// (and, for a synthetic model, to llama.cpp's reference logits); bad ids fail cleanly.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "model/model.h"
#include "model/reference_forward.h"

namespace slm::model {
namespace {

struct RunResult {
  int code;
  std::string err;
};

RunResult run_slm(const std::string& args, const slm::testing::TempDir& dir) {
  const std::string err = dir.file("stderr.txt");
  const int rc = std::system((std::string(SLM_EXE) + " " + args + " 2> " + err).c_str());
  std::ifstream f(err);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, std::string(std::istreambuf_iterator<char>(f), {})};
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(raw.size() / 4);
  std::memcpy(v.data(), raw.data(), v.size() * 4);
  return v;
}

TEST(LogitsCli, IdsMatchLibrary) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  slm::testing::TempDir tmp;
  const std::string model = (dir / "stories260K.bin").string(), out = tmp.file("l.f32");
  const RunResult r = run_slm("logits -m " + model + " --ids \"1 403 407 261\" --f32-cache -o " + out, tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const Model m = Model::load(model);
  KvCache kv = m.make_cache({.n_ctx = 4, .type = KvType::f32});
  const std::vector<int32_t> ids = {1, 403, 407, 261};
  // Equal to rounding: the SIMD tables' row grouping may differ with the thread split.
  EXPECT_LT(testing::nmse(read_f32(out), m.prefill(ids, kv, 0, true)), 1e-12);
}

TEST(LogitsCli, PromptMatchesLlamaCpp) {
  SLM_REQUIRE_TESTDATA(dir, "models/synthetic");
  slm::testing::TempDir tmp;
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(dir / "llama-f32.ref.json"));
  const auto& p1 = ref["prompts"][0];
  const std::string out = tmp.file("l.f32");
  const RunResult r = run_slm("logits -m " + (dir / "llama-f32.gguf").string() + " -p \"" +
                                  p1["text"].get<std::string>() + "\" --f32-cache -o " + out,
                              tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<float> got = read_f32(out);
  const size_t n = p1["token_ids"].size(), nv = ref["n_vocab"].get<size_t>();
  ASSERT_EQ(got.size(), n * nv);
  const std::vector<float> all = read_f32((dir / "llama-f32.logits.f32").string());
  EXPECT_LT(testing::nmse(got, std::span(all).first(n * nv)), 1e-9);
}

TEST(LogitsCli, BadIdsFailCleanly) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  slm::testing::TempDir tmp;
  const std::string model = (dir / "stories260K.gguf").string(), out = tmp.file("l.f32");
  RunResult r = run_slm("logits -m " + model + " --ids \"1 512\" -o " + out, tmp);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("token id 512 out of range"), std::string::npos) << r.err;
  r = run_slm("logits -m " + model + " --ids \"1 x\" -o " + out, tmp);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not a token id"), std::string::npos) << r.err;
  r = run_slm("logits -m " + tmp.file("absent.gguf") + " --ids 1 -o " + out, tmp);
  EXPECT_EQ(r.code, 1) << r.err;
}

}  // namespace
}  // namespace slm::model
