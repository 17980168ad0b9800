// `slm quant-report --task` end to end on a tiny task and a tiny random model: accuracy of both models, flips
// cross-checked against `slm eval`'s own predictions, answer-position KL, and the quality bar as a gate
// (exit 3 naming the bar that failed, exit 0 when the bars are loose).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/subprocess.h"
#include "common/testdata.h"

namespace slm {
namespace {

using testing::Output;
using testing::quote;

// stdout (the table or JSON) and stderr (progress, errors, failed bars) apart, so --json output parses.
Output slm(const std::string& args) { return testing::run_slm(args, false); }

// 8 train and 32 eval rows of a two-label task; `quality` is the contract's quality line.
std::string write_task(const testing::TempDir& dir, const std::string& name, const std::string& quality) {
  const char* spam[] = {"buy cheap pills now", "win money fast", "cheap offer click here", "free prize claim now"};
  const char* ham[] = {"meeting moved to monday", "notes from the project call", "lunch tomorrow?", "draft agenda"};
  std::ofstream train(dir.file("train.jsonl")), eval(dir.file("eval.jsonl"));
  for (int i = 0; i < 20; ++i) {
    std::ofstream& out = i < 4 ? train : eval;
    for (int k = 0; k < 2; ++k) {
      const char* base = k ? ham[i % 4] : spam[i % 4];
      out << nlohmann::json{{"msg", std::string(base) + " #" + std::to_string(i)}, {"y", k ? "ham" : "spam"}}.dump() << "\n";
    }
  }
  const std::string path = dir.file(name);
  std::ofstream(path) << "name: tiny-spam\n"
                         "input: \"Message: {text}\\nLabel:\"\n"
                         "output: {kind: label, labels: [spam, ham]}\n"
                         "data: {train: train.jsonl, eval: eval.jsonl, fields: {text: msg, label: y}}\n"
                      << quality << "\n";
  return path;
}

// Labels `slm eval` predicts for one model on the task, in held-out order.
std::vector<int> eval_labels(const std::string& task, const std::string& model) {
  const Output o = slm("eval -q --task " + quote(task) + " --model " + quote(model) + " --json --predictions");
  EXPECT_EQ(o.rc, 0) << o.both();
  std::vector<int> labels;
  const auto j = nlohmann::json::parse(o.out, nullptr, false);
  if (j.is_discarded()) return labels;
  for (const auto& p : j["candidates"][1]["predictions"]) labels.push_back(p["label"].get<int>());
  return labels;
}

class QuantTaskE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    // Seed 12 answers both labels, near even odds (so quantisation flips some); seed 3 always answers "ham".
    for (const auto& [name, args] : {std::pair{"f32.gguf", "--type F32 --seed 12"}, {"other.gguf", "--type F32 --seed 3"}}) {
      const Output o = slm("synth-model --shape tiny " + std::string(args) + " -o " + quote(dir.file(name)));
      ASSERT_EQ(o.rc, 0) << o.both();
    }
    for (const char* type : {"Q8_0", "Q4_0", "Q2_K"}) {
      const Output o = slm("quantize -q " + quote(dir.file("f32.gguf")) + " " + quote(dir.file(std::string(type) + ".gguf")) + " " + type);
      ASSERT_EQ(o.rc, 0) << o.both();
    }
  }
  std::string report(const std::string& task, const std::string& base, const std::string& quant, const std::string& extra = "") {
    return "quant-report -q --task " + quote(task) + " --base " + quote(dir.file(base)) + " --quant " + quote(dir.file(quant)) +
           " " + extra;
  }
  testing::TempDir dir;
};

TEST_F(QuantTaskE2E, FlipsMatchTheHarnessPredictions) {
  const std::string task = write_task(dir, "task.yaml", "quality: {}");
  // A different model as the "quantised" one makes answers change for sure; Q8_0 vs Q2_K is the real case.
  for (const auto& [base, quant] : {std::pair{"f32.gguf", "other.gguf"}, {"Q8_0.gguf", "Q4_0.gguf"}, {"Q8_0.gguf", "Q2_K.gguf"}}) {
    const Output o = slm(report(task, base, quant, "--json"));
    ASSERT_EQ(o.rc, 0) << o.both();
    const auto j = nlohmann::json::parse(o.out);
    const std::vector<int> lb = eval_labels(task, dir.file(base)), lq = eval_labels(task, dir.file(quant));
    ASSERT_EQ(lb.size(), 32u);
    ASSERT_EQ(lq.size(), 32u);
    size_t r2w = 0, w2r = 0, changed = 0, right_b = 0, right_q = 0;
    for (size_t i = 0; i < 32; ++i) {
      const int truth = i % 2;  // rows alternate spam (0), ham (1)
      r2w += lb[i] == truth && lq[i] != truth;
      w2r += lb[i] != truth && lq[i] == truth;
      changed += lb[i] != lq[i];
      right_b += lb[i] == truth, right_q += lq[i] == truth;
    }
    EXPECT_EQ(j["n_eval"], 32) << base << " vs " << quant;
    EXPECT_EQ(j["flips"]["right_to_wrong"], r2w) << base << " vs " << quant;
    EXPECT_EQ(j["flips"]["wrong_to_right"], w2r) << base << " vs " << quant;
    EXPECT_EQ(j["flips"]["changed"], changed) << base << " vs " << quant;
    EXPECT_DOUBLE_EQ(j["base"]["accuracy"].get<double>(), double(right_b) / 32);
    EXPECT_DOUBLE_EQ(j["quant"]["accuracy"].get<double>(), double(right_q) / 32);
    EXPECT_EQ(j["kld"]["n"], 32);
    EXPECT_GT(j["kld"]["mean"].get<double>(), 0.0);
    EXPECT_GE(j["kld"]["max"].get<double>(), j["kld"]["p99"].get<double>());
    EXPECT_TRUE(j.contains("label_kld_mean"));
    EXPECT_EQ(j["pass"], true);  // no bar set
    if (std::string(quant) == "other.gguf") EXPECT_GT(changed, 0u);  // a different model answers differently
  }
}

TEST_F(QuantTaskE2E, IdenticalModelsHaveNoFlipsAndZeroKl) {
  const std::string task = write_task(dir, "task.yaml", "quality: {max_kl: 0.0}");
  const Output o = slm(report(task, "Q8_0.gguf", "Q8_0.gguf", "--json --limit 6"));
  ASSERT_EQ(o.rc, 0) << o.both();
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["n_eval"], 6);
  EXPECT_EQ(j["flips"]["changed"], 0);
  EXPECT_EQ(j["kld"]["max"].get<double>(), 0.0);
  EXPECT_EQ(j["pass"], true);
}

TEST_F(QuantTaskE2E, GateExitsThreeNamingTheBar) {
  // The task's max_kl set impossibly tight.
  const std::string tight = write_task(dir, "tight.yaml", "quality: {max_kl: 1.0e-12}");
  Output o = slm(report(tight, "Q8_0.gguf", "Q2_K.gguf"));
  EXPECT_EQ(o.rc, 3) << o.both();
  EXPECT_NE(o.err.find("quality.max_kl"), std::string::npos) << o.both();
  EXPECT_NE(o.out.find("FAIL"), std::string::npos) << o.both();
  // --max-kld replaces the task's bar, both ways.
  EXPECT_EQ(slm(report(tight, "Q8_0.gguf", "Q2_K.gguf", "--max-kld 100")).rc, 0);
  const std::string loose = write_task(dir, "loose.yaml", "quality: {max_kl: 100, min_accuracy: 0.0}");
  o = slm(report(loose, "Q8_0.gguf", "Q2_K.gguf", "--json"));
  EXPECT_EQ(o.rc, 0) << o.both();
  EXPECT_EQ(nlohmann::json::parse(o.out)["pass"], true);
  o = slm(report(loose, "Q8_0.gguf", "Q2_K.gguf", "--max-kld 0"));
  EXPECT_EQ(o.rc, 3) << o.both();
  EXPECT_NE(o.err.find("--max-kld"), std::string::npos) << o.both();
  // An accuracy bar the quantised model cannot meet on 32 rows (a random model does not get them all right).
  const std::string acc = write_task(dir, "acc.yaml", "quality: {min_accuracy: 1.0}");
  o = slm(report(acc, "Q8_0.gguf", "Q2_K.gguf", "--json"));
  EXPECT_EQ(o.rc, 3) << o.both();
  EXPECT_NE(o.err.find("min_accuracy"), std::string::npos) << o.both();
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["pass"], false);
  ASSERT_EQ(j["failures"].size(), 1u);
}

TEST_F(QuantTaskE2E, TextTaskComparesGreedyAnswers) {
  // A generation task: exact-match accuracy, flips on the answers, KL after the prompt (an extra prefill).
  std::ofstream(dir.file("t_train.jsonl")) << "{\"q\": \"a\", \"a\": \"b\"}\n";
  std::ofstream eval(dir.file("t_eval.jsonl"));
  for (int i = 0; i < 5; ++i) eval << nlohmann::json{{"q", "say " + std::to_string(i)}, {"a", std::to_string(i)}}.dump() << "\n";
  eval.close();
  std::ofstream(dir.file("text.yaml")) << "name: echo\ninput: \"{q}\"\noutput: {kind: text}\n"
                                          "data: {train: t_train.jsonl, eval: t_eval.jsonl, fields: {q: q, output: a}}\n"
                                          "quality: {max_kl: 100}\nserving: {max_tokens: 3}\n";
  const Output o = slm(report(dir.file("text.yaml"), "f32.gguf", "other.gguf", "--json --predictions"));
  ASSERT_EQ(o.rc, 0) << o.both();
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["kind"], "text");
  EXPECT_EQ(j["n_eval"], 5);
  EXPECT_EQ(j["kld"]["n"], 5);
  EXPECT_GT(j["kld"]["mean"].get<double>(), 0.0);
  EXPECT_FALSE(j.contains("label_kld_mean"));
  size_t changed = 0;
  for (size_t i = 0; i < 5; ++i)
    changed += j["base"]["predictions"][i]["output"] != j["quant"]["predictions"][i]["output"];
  EXPECT_EQ(j["flips"]["changed"], changed);
}

TEST_F(QuantTaskE2E, BadInputExitsOne) {
  const std::string task = write_task(dir, "task.yaml", "quality: {}");
  EXPECT_EQ(slm(report(task, "Q8_0.gguf", "missing.gguf")).rc, 1);
  EXPECT_EQ(slm(report(dir.file("missing.yaml"), "Q8_0.gguf", "Q2_K.gguf")).rc, 1);
  const int rc = slm(report(task, "Q8_0.gguf", "Q2_K.gguf", "--text " + quote(task))).rc;  // --text excludes --task
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, 3);
}

}  // namespace
}  // namespace slm
