// `slm eval --lora` end to end: an adapter trained by `slm train --mode lora` is applied at the matmul site
// and scores the held-out set as the model merged by `slm merge` does, and differently from the base.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/subprocess.h"
#include "common/testdata.h"

namespace slm {
namespace {

using testing::Output;
using testing::quote;

Output slm(const std::string& args) { return testing::run_slm(args, true); }

// A separable two-label task (8 held-out rows) and LoRA records in the template's layout.
void write_task(const testing::TempDir& dir) {
  const char* spam[] = {"buy cheap pills now", "win money fast", "cheap offer click here", "free prize claim now"};
  const char* ham[] = {"meeting moved to monday", "notes from the project call", "lunch tomorrow?", "draft agenda attached"};
  std::ofstream train(dir.file("train.jsonl")), eval(dir.file("eval.jsonl")), lora(dir.file("lora.jsonl"));
  for (int i = 0; i < 16; ++i) {
    std::ofstream& out = i < 12 ? train : eval;
    for (int k = 0; k < 2; ++k) {
      const std::string text = std::string(k ? ham[i % 4] : spam[i % 4]) + " #" + std::to_string(i);
      out << nlohmann::json{{"msg", text}, {"y", k ? "ham" : "spam"}}.dump() << "\n";
      lora << nlohmann::json{{"prompt", "Message: " + text + "\nLabel:\n"}, {"completion", k ? "ham" : "spam"}}.dump() << "\n";
    }
  }
  std::ofstream(dir.file("task.yaml")) << "name: tiny-spam\n"
                                          "input: \"Message: {text}\\nLabel:\"\n"
                                          "output: {kind: label, labels: [spam, ham]}\n"
                                          "data: {train: train.jsonl, eval: eval.jsonl, fields: {text: msg, label: y}}\n";
}

std::vector<double> spam_probs(const std::string& json_text) {
  const auto j = nlohmann::json::parse(json_text);
  std::vector<double> out;
  for (const auto& p : j["candidates"][1]["predictions"]) out.push_back(p["probs"][0].get<double>());
  return out;
}

TEST(EvalLoraE2E, AdapterScoresLikeTheMergedModel) {
  testing::TempDir dir;
  write_task(dir);
  ASSERT_EQ(slm("synth-model --shape tiny --type F32 -o " + quote(dir.file("tiny.gguf"))).rc, 0);
  const Output tr = slm("train --mode lora -q -m " + quote(dir.file("tiny.gguf")) + " --data " + quote(dir.file("lora.jsonl")) +
                        " --steps 6 --batch 4 --lr 0.05 --rank 4 -t 1 -o " + quote(dir.file("out")));
  ASSERT_EQ(tr.rc, 0) << tr.out;
  const Output mg = slm("merge -m " + quote(dir.file("tiny.gguf")) + " --lora " + quote(dir.file("out/adapter.gguf")) +
                        " -o " + quote(dir.file("merged.gguf")));
  ASSERT_EQ(mg.rc, 0) << mg.out;
  const std::string task = " -q --json --predictions --task " + quote(dir.file("task.yaml"));
  const Output with = slm("eval" + task + " -m " + quote(dir.file("tiny.gguf")) + " --lora " + quote(dir.file("out/adapter.gguf")));
  const Output merged = slm("eval" + task + " -m " + quote(dir.file("merged.gguf")));
  const Output base = slm("eval" + task + " -m " + quote(dir.file("tiny.gguf")));
  ASSERT_EQ(with.rc, 0) << with.out;
  ASSERT_EQ(merged.rc, 0) << merged.out;
  ASSERT_EQ(base.rc, 0) << base.out;
  EXPECT_EQ(nlohmann::json::parse(with.out)["candidates"][1]["name"], "tiny.gguf+adapter.gguf");
  const auto a = spam_probs(with.out), m = spam_probs(merged.out), b = spam_probs(base.out);
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(m.size(), 8u);
  double moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], m[i], 1e-3) << "row " << i;  // adapter at the matmul site == adapter merged into the weights
    moved = std::max(moved, std::abs(a[i] - b[i]));
  }
  EXPECT_GT(moved, 1e-3);  // and the adapter changed the answers' probabilities
}

TEST(EvalLoraE2E, MismatchedAdapterIsAnError) {
  testing::TempDir dir;
  write_task(dir);
  ASSERT_EQ(slm("synth-model --shape tiny --type F32 -o " + quote(dir.file("tiny.gguf"))).rc, 0);
  const Output o = slm("eval -q --task " + quote(dir.file("task.yaml")) + " -m " + quote(dir.file("tiny.gguf")) +
                       " --lora " + quote(dir.file("tiny.gguf")));
  EXPECT_EQ(o.rc, 1) << o.out;
}

}  // namespace
}  // namespace slm
