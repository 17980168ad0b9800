// `slm eval` end to end on a tiny task: a tiny random model (slm synth-model --shape tiny) and a tiny JSONL
// data set written here; the JSON report, the HTML report (rendered by headless Chromium when installed)
// and `slm data` on the same files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/subprocess.h"
#include "common/testdata.h"

namespace slm {
namespace {

using testing::Output;
using testing::quote;

Output sh(const std::string& cmd) { return testing::run_command(cmd, true); }
Output slm(const std::string& args) { return testing::run_slm(args, true); }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// 24 train and 8 eval rows of a separable two-label task.
void write_task(const testing::TempDir& dir) {
  const char* spam[] = {"buy cheap pills now", "win money fast", "cheap offer click here", "free prize claim now"};
  const char* ham[] = {"meeting moved to monday", "notes from the project call", "lunch tomorrow?", "draft agenda attached"};
  std::ofstream train(dir.file("train.jsonl")), eval(dir.file("eval.jsonl"));
  for (int i = 0; i < 16; ++i) {
    std::ofstream& out = i < 12 ? train : eval;
    for (int k = 0; k < 2; ++k) {
      const char* base = k ? ham[i % 4] : spam[i % 4];
      out << nlohmann::json{{"msg", std::string(base) + " #" + std::to_string(i)}, {"y", k ? "ham" : "spam"}}.dump() << "\n";
    }
  }
  std::ofstream(dir.file("task.yaml")) << "name: tiny-spam\n"
                                          "input: \"Message: {text}\\nLabel:\"\n"
                                          "output: {kind: label, labels: [spam, ham]}\n"
                                          "data: {train: train.jsonl, eval: eval.jsonl, fields: {text: msg, label: y}}\n"
                                          "quality: {min_accuracy: 0.9}\n"
                                          "serving: {max_tokens: 4}\n"
                                          "prices: {local: {per_hour: 1.0}}\n";
}

TEST(EvalE2E, TinyModelAgainstBaseline) {
  testing::TempDir dir;
  write_task(dir);
  const Output synth = slm("synth-model --shape tiny --type F32 -o " + quote(dir.file("tiny.gguf")));
  ASSERT_EQ(synth.rc, 0) << synth.out;
  const Output check = slm("eval --task " + quote(dir.file("task.yaml")) + " --check");
  ASSERT_EQ(check.rc, 0) << check.out;
  EXPECT_NE(check.out.find("24 train rows, 8 held-out rows"), std::string::npos) << check.out;

  const Output o = slm("eval -q --task " + quote(dir.file("task.yaml")) + " --model " + quote(dir.file("tiny.gguf")) +
                       " --json --predictions --html " + quote(dir.file("report.html")));
  ASSERT_EQ(o.rc, 0) << o.out;
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["task"], "tiny-spam");
  EXPECT_EQ(j["n_eval"], 8);
  ASSERT_EQ(j["candidates"].size(), 2u);
  const auto& base = j["candidates"][0];
  const auto& model = j["candidates"][1];
  EXPECT_EQ(base["kind"], "baseline");
  EXPECT_DOUBLE_EQ(base["classification"]["accuracy"].get<double>(), 1.0);  // separable by words
  EXPECT_EQ(model["kind"], "local");
  EXPECT_EQ(model["name"], "tiny.gguf");
  EXPECT_EQ(model["errors"], 0);
  ASSERT_EQ(model["predictions"].size(), 8u);
  for (const auto& p : model["predictions"]) {
    ASSERT_EQ(p["probs"].size(), 2u);
    const double a = p["probs"][0], b = p["probs"][1];
    EXPECT_NEAR(a + b, 1.0, 1e-6);
    EXPECT_EQ(p["label"].get<int>(), a >= b ? 0 : 1);  // the label is the most probable choice
  }
  EXPECT_GT(model["cost_per_1k"].get<double>(), 0.0);
  EXPECT_EQ(j["needs_language_model"], false);  // the baseline meets the bar
  EXPECT_NE(j["verdict"].get<std::string>().find("No: the baseline"), std::string::npos);

  const std::string html = read(dir.file("report.html"));
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("reliability diagram"), std::string::npos);
  EXPECT_NE(html.find("confusion matrix"), std::string::npos);
  EXPECT_NE(html.find("latency distribution"), std::string::npos);
  EXPECT_NE(html.find("accuracy against cost"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // no external assets
  EXPECT_EQ(html.find("https://"), std::string::npos);

  const Output table = slm("eval -q --task " + quote(dir.file("task.yaml")) + " --model " + quote(dir.file("tiny.gguf")));
  ASSERT_EQ(table.rc, 0) << table.out;
  EXPECT_NE(table.out.find("Does this task need a language model?"), std::string::npos);
}

TEST(EvalE2E, HtmlRendersInHeadlessChromium) {
  std::string chromium;
  for (const char* c : {"chromium", "chromium-browser"})
    if (sh(std::string("command -v ") + c).rc == 0) chromium = c;
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/bootstrap installs Debian's chromium)";
  testing::TempDir dir;
  write_task(dir);
  ASSERT_EQ(slm("eval -q --task " + quote(dir.file("task.yaml")) + " --html " + quote(dir.file("r.html"))).rc, 0);
  const std::string shot = dir.file("shot.png");
  const Output o = sh("timeout 50 " + chromium + " --headless --no-sandbox --disable-gpu --disable-background-networking "
                      "--disable-component-update --disable-sync --no-first-run --user-data-dir=" + quote(dir.file("profile")) +
                      " --window-size=1200,1600 --screenshot=" + quote(shot) + " " + quote("file://" + dir.file("r.html")));
  ASSERT_EQ(o.rc, 0) << o.out;
  ASSERT_TRUE(std::filesystem::exists(shot)) << o.out;
  EXPECT_GT(std::filesystem::file_size(shot), 10000u);  // a rendered page, not an empty image
  if (const char* keep = std::getenv("SLM_KEEP_SCREENSHOT")) std::filesystem::copy_file(shot, keep, std::filesystem::copy_options::overwrite_existing);
}

TEST(EvalE2E, InvalidContractNamesKeyAndLine) {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << "name: x\ninput: \"{a}\"\noutput:\n  kind: lable\n";
  const Output o = slm("eval --task " + quote(dir.file("bad.yaml")));
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.out.find("bad.yaml:4: key 'output.kind'"), std::string::npos) << o.out;
}

TEST(EvalE2E, DataDedupSplitDecontam) {
  testing::TempDir dir;
  write_task(dir);
  std::ofstream(dir.file("dups.jsonl")) << "{\"text\":\"a b c d e\",\"label\":\"x\"}\n{\"text\":\"A  b c d e\",\"label\":\"x\"}\n"
                                           "{\"text\":\"f g h i j\",\"label\":\"y\"}\n{\"text\":\"k l m n o\",\"label\":\"y\"}\n"
                                           "{\"text\":\"p q r s t\",\"label\":\"x\"}\n";
  const Output d = slm("data dedup --in " + quote(dir.file("dups.jsonl")) + " --out " + quote(dir.file("d.jsonl")));
  ASSERT_EQ(d.rc, 0) << d.out;
  EXPECT_NE(d.out.find("1 exact and 0 near duplicates removed, 4 kept"), std::string::npos) << d.out;
  const Output s = slm("data split --in " + quote(dir.file("d.jsonl")) + " --train " + quote(dir.file("t.jsonl")) + " --eval " +
                       quote(dir.file("e.jsonl")) + " --eval-fraction 0.5 --seed 3");
  ASSERT_EQ(s.rc, 0) << s.out;
  EXPECT_NE(s.out.find("2 train, 2 eval"), std::string::npos) << s.out;
  EXPECT_EQ(slm("data decontam --train " + quote(dir.file("t.jsonl")) + " --eval " + quote(dir.file("e.jsonl"))).rc, 0);
  EXPECT_EQ(slm("data decontam --train " + quote(dir.file("dups.jsonl")) + " --eval " + quote(dir.file("e.jsonl"))).rc, 1);
}

}  // namespace
}  // namespace slm
