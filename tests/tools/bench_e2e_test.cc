// `slm bench -m MODEL` end to end on a tiny synthetic model: table and JSON shapes, every ISA, bad flags.
// Speeds are only checked to be positive: no test asserts a time.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/testdata.h"

namespace slm {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class BenchE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* type : {"F16", "Q4_0"}) {
      const RunResult r = run(std::string(SLM_EXE) + " synth-model --shape tiny --type " + type + " -o " +
                              dir_.file(std::string("tiny-") + type + ".gguf"));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  testing::TempDir dir_;
};

TEST_F(BenchE2e, JsonHasEveryTestWithOrderedSamples) {
  for (const char* isa : {"scalar", "avx2", "avx512", "amx"}) {
    for (const char* type : {"F16", "Q4_0"}) {
      const std::string model = dir_.file(std::string("tiny-") + type + ".gguf");
      const RunResult r = run(std::string("SLM_FORCE_ISA=") + isa + " " + SLM_EXE + " bench -m " + model +
                              " -p 16,8 -n 4 -t 2 -r 2 --json");
      if (r.exit_code != 0 && r.output.find("not compiled in or not supported") != std::string::npos) continue;
      ASSERT_EQ(r.exit_code, 0) << r.output;
      const auto j = nlohmann::json::parse(r.output);
      ASSERT_EQ(j.size(), 3u);
      EXPECT_EQ(j[0]["test"], "pp16");
      EXPECT_EQ(j[1]["test"], "pp8");
      EXPECT_EQ(j[2]["test"], "tg4");
      for (const auto& row : j) {
        EXPECT_EQ(row["isa"], isa);
        EXPECT_EQ(row["type"], type);
        EXPECT_EQ(row["threads"], 2);
        EXPECT_EQ(row["samples"].size(), 2u);
        EXPECT_GT(row["tps_min"].get<double>(), 0.0);
        EXPECT_LE(row["tps_min"].get<double>(), row["tps_median"].get<double>());
        EXPECT_LE(row["tps_median"].get<double>(), row["tps_max"].get<double>());
      }
      EXPECT_TRUE(j[0]["bandwidth_gbs"].is_null());
      EXPECT_GT(j[2]["bandwidth_gbs"].get<double>(), 0.0);
      EXPECT_GT(j[2]["weight_bytes_per_token"].get<double>(), 0.0);
    }
  }
}

// -d: every test again after D cached tokens, named as llama-bench names them; the depth's own fill untimed.
TEST_F(BenchE2e, DepthRunsEveryTestAfterCachedTokens) {
  const std::string model = dir_.file("tiny-Q4_0.gguf");
  const RunResult r = run(std::string(SLM_EXE) + " bench -m " + model + " -p 8 -n 2 -d 0,24 -r 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j.size(), 4u);
  const char* names[] = {"pp8", "tg2", "pp8 @ d24", "tg2 @ d24"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(j[i]["test"], names[i]);
    EXPECT_EQ(j[i]["n_depth"], i < 2 ? 0 : 24);
    EXPECT_EQ(j[i]["samples"].size(), 2u);
    EXPECT_GT(j[i]["tps_min"].get<double>(), 0.0);
  }
  const RunResult t = run(std::string(SLM_EXE) + " bench -m " + model + " -p 8 -n 0 -d 16 -r 1");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("| pp8 @ d16 |"), std::string::npos) << t.output;
  const RunResult bad = run(std::string(SLM_EXE) + " bench -m " + model + " -d -1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("-d (depth) must be 0 or more, got -1"), std::string::npos) << bad.output;
  EXPECT_EQ(run(std::string(SLM_EXE) + " bench -m " + model + " --chunk 0").exit_code, 1);
}

TEST_F(BenchE2e, TableAndErrors) {
  const std::string model = dir_.file("tiny-F16.gguf");
  const RunResult t = run(std::string(SLM_EXE) + " bench -m " + model + " -p 8 -n 2 -r 1");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("|     pp8 |"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("|     tg2 |"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("GB/s"), std::string::npos);
  EXPECT_EQ(run(std::string(SLM_EXE) + " bench").exit_code, 1);  // no model, no subcommand
  EXPECT_EQ(run(std::string(SLM_EXE) + " bench -m " + dir_.file("missing.gguf")).exit_code, 1);
  EXPECT_EQ(run(std::string(SLM_EXE) + " bench -m " + model + " -r 0").exit_code, 1);
}

}  // namespace
}  // namespace slm
