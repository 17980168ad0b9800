// `slm inspect` end to end: runs the real binary on files written here and checks its output and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/testdata.h"
#include "io/gguf.h"

namespace slm {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;
};

// Runs `slm <args>` with stdout (and stderr when merge_stderr) captured.
RunResult run_slm(const std::string& args, bool merge_stderr = false) {
  const std::string cmd = std::string(SLM_EXE) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string write_model(const testing::TempDir& dir) {
  static const std::vector<uint8_t> emb(32 * 10 * 4, 1), q(18 * 2 * 4, 2);
  gguf::Writer w;
  w.add_kv("general.architecture", gguf::Value{std::string("llama")});
  w.add_kv("llama.block_count", gguf::Value{uint32_t(1)});
  std::vector<gguf::Value> toks;
  for (int i = 0; i < 100; ++i) toks.push_back(gguf::Value{"t" + std::to_string(i)});
  w.add_kv("tokenizer.ggml.tokens", gguf::Value{gguf::Array{gguf::ValueType::string, std::move(toks)}});
  w.add_tensor("token_embd.weight", DType::F32, {32, 10}, emb);
  w.add_tensor("blk.0.attn_q.weight", DType::Q4_0, {64, 4}, q);
  const std::string path = dir.file("model.gguf");
  w.write(path);
  return path;
}

TEST(InspectE2e, TextListsMetadataTensorsAndTotals) {
  testing::TempDir dir;
  const RunResult r = run_slm("inspect " + write_model(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* want : {"GGUF v3", "general.architecture", "\"llama\"", "array<string>[100]", "\"t0\"",
                           "... (100 items)", "token_embd.weight", "blk.0.attn_q.weight", "Q4_0", "64 x 4",
                           "parameters: 576 (576)", "bytes by type:"})
    EXPECT_NE(r.output.find(want), std::string::npos) << "missing '" << want << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("\"t50\""), std::string::npos) << "a long array must be summarised";
}

TEST(InspectE2e, JsonIsOneParsableObject) {
  testing::TempDir dir;
  const RunResult r = run_slm("inspect --json " + write_model(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["n_parameters"], 32 * 10 + 64 * 4);
  ASSERT_EQ(j["tensors"].size(), 2u);
  EXPECT_EQ(j["tensors"][1]["name"], "blk.0.attn_q.weight");
  EXPECT_EQ(j["tensors"][1]["type"], "Q4_0");
  EXPECT_EQ(j["tensors"][1]["shape"], nlohmann::json::array({64, 4}));
  EXPECT_EQ(j["tensors"][1]["bytes"], 18 * 2 * 4);
  EXPECT_EQ(j["tensors"][1]["offset"], 1280);
  EXPECT_EQ(j["bytes_by_type"]["F32"]["bytes"], 32 * 10 * 4);
  const nlohmann::json& toks = j["metadata"][2];
  EXPECT_EQ(toks["key"], "tokenizer.ggml.tokens");
  EXPECT_EQ(toks["elem_type"], "string");
  EXPECT_EQ(toks["length"], 100);
  EXPECT_EQ(toks["truncated"], true);
  EXPECT_EQ(toks["items"].size(), 8u);
}

TEST(InspectE2e, BadFileExitsOneWithAMessage) {
  testing::TempDir dir;
  const std::string path = dir.file("bad.gguf");
  std::ofstream(path) << std::string("GGUF\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
  RunResult r = run_slm("inspect " + path, /*merge_stderr=*/true);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("slm: error: [gguf]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("version 1 is not supported"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(path), std::string::npos) << r.output;

  std::ofstream(path, std::ios::trunc) << "not a gguf file at all";
  r = run_slm("inspect " + path, true);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad magic"), std::string::npos) << r.output;

  r = run_slm("inspect " + dir.file("missing.gguf"), true);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot open"), std::string::npos) << r.output;
}

TEST(InspectE2e, WorksOnEveryTestdataFile) {
  SLM_REQUIRE_TESTDATA(root, ".");
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.path().extension() != ".gguf") continue;
    const RunResult r = run_slm("inspect --json '" + e.path().string() + "'");
    ASSERT_EQ(r.exit_code, 0) << e.path();
    EXPECT_TRUE(nlohmann::json::accept(r.output)) << e.path();
    ++n;
  }
  EXPECT_GT(n, 0u);
}

}  // namespace
}  // namespace slm
