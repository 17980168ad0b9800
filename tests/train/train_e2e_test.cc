// slm train end to end: train / merge / run --lora on stories260K (the merged model and the adapter at the
// matmul site produce the same greedy text, which shows the trained completion); pretraining with a trained
// vocabulary as GGUF or tokenizer.json; qlora and distill runs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/testdata.h"

namespace {

std::string run(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  if (rc) *rc = status;
  return out;
}

TEST(TrainCli, LoraTrainMergeAndRun) {
  const auto dir = slm::testing::testdata_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/testdata is absent";
  const std::string model = (dir / "models/stories260K/stories260K.gguf").string();
  slm::testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("t.jsonl"));
    for (int i = 0; i < 8; ++i) f << "{\"prompt\": \"Once upon a time\", \"completion\": \" the cat sat on the mat.\"}\n";
    f << "{broken\n";
  }
  const std::string exe = SLM_EXE, out = tmp.file("out");
  int rc = -1;
  run(exe + " train --mode lora -m " + model + " --data " + tmp.file("t.jsonl") + " --rank 8 --steps 40 --lr 3e-3 -t 1 -q -o " + out, &rc);
  ASSERT_EQ(rc, 0);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "adapter.gguf", "metrics.jsonl"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  const std::string with_lora =
      run(exe + " run -m " + model + " -p 'Once upon a time' -n 12 --temp 0 --lora " + out + "/adapter.gguf", &rc);
  ASSERT_EQ(rc, 0);
  run(exe + " merge -m " + model + " --lora " + out + "/adapter.gguf -o " + tmp.file("merged.gguf"), &rc);
  ASSERT_EQ(rc, 0);
  const std::string merged = run(exe + " run -m " + tmp.file("merged.gguf") + " -p 'Once upon a time' -n 12 --temp 0");
  const std::string base = run(exe + " run -m " + model + " -p 'Once upon a time' -n 12 --temp 0");
  EXPECT_NE(with_lora.find("the cat sat"), std::string::npos) << with_lora;
  EXPECT_EQ(base.find("the cat sat"), std::string::npos) << base;
  EXPECT_EQ(with_lora, merged);
  // --strict makes the broken record fatal.
  run(exe + " train --mode lora -m " + model + " --data " + tmp.file("t.jsonl") + " --steps 1 --strict -q -o " + out, &rc);
  EXPECT_NE(rc, 0);
}

}  // namespace

namespace {

// Pretraining from a shape with a vocabulary from `slm tokenizer train`, given as its GGUF or its
// tokenizer.json: the same tokens, so the same loss; every run leaves loss.svg, and --plot redraws it.
TEST(TrainCli, ConfigWithTrainedVocabularyJsonOrGguf) {
  slm::testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("corpus.txt"));
    for (int i = 0; i < 60; ++i) f << "the cat sat on the mat and the dog ran to the park " << i % 7 << ".\n";
  }
  const std::string exe = SLM_EXE;
  int rc = -1;
  run(exe + " tokenizer train --vocab-size 300 --format both -o " + tmp.file("tok") + " " + tmp.file("corpus.txt"), &rc);
  ASSERT_EQ(rc, 0);
  auto train = [&](const std::string& vocab, const std::string& out) {
    return run(exe + " train --mode full --config tiny --vocab " + vocab + " --data " + tmp.file("corpus.txt") +
                   " --steps 4 --seq-len 32 -t 1 -q -o " + out, &rc);
  };
  const std::string a = train(tmp.file("tok/vocab.gguf"), tmp.file("a"));
  ASSERT_EQ(rc, 0);
  const std::string b = train(tmp.file("tok/tokenizer.json"), tmp.file("b"));
  ASSERT_EQ(rc, 0);
  ASSERT_NE(a.find("loss "), std::string::npos) << a;
  EXPECT_EQ(a.substr(0, a.find(',')), b.substr(0, b.find(',')));  // "trained 4 steps: loss X"
  EXPECT_TRUE(std::filesystem::exists(tmp.file("b/model.gguf")));
  std::filesystem::remove(tmp.file("b/loss.svg"));
  run(exe + " train --plot -o " + tmp.file("b"), &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(std::filesystem::exists(tmp.file("b/loss.svg")));
}

// qlora and distill through the CLI on stories260K: adapters for qlora, a full student for distill.
TEST(TrainCli, QloraAndDistillRuns) {
  const auto dir = slm::testing::testdata_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/testdata is absent";
  const std::string model = (dir / "models/stories260K/stories260K.gguf").string();
  slm::testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("t.jsonl"));
    for (int i = 0; i < 4; ++i) f << "{\"prompt\": \"Once upon a time\", \"completion\": \" the cat sat.\"}\n";
  }
  const std::string exe = SLM_EXE;
  int rc = -1;
  run(exe + " train --mode qlora --qlora-type q8_0 -m " + model + " --data " + tmp.file("t.jsonl") +
          " --steps 3 -t 1 -q -o " + tmp.file("q"), &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(std::filesystem::exists(tmp.file("q/adapter.gguf")));
  run(exe + " train --mode distill --teacher " + model + " --config tiny --data " + tmp.file("t.jsonl") +
          " --steps 3 --checkpointing -t 1 -q -o " + tmp.file("d"), &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(std::filesystem::exists(tmp.file("d/model.gguf")));
  std::ifstream m(tmp.file("d/metrics.jsonl"));
  std::string line;
  std::getline(m, line);
  EXPECT_NE(line.find("\"kl\""), std::string::npos) << line;
  run(exe + " train --mode distill -m " + model + " --data " + tmp.file("t.jsonl") + " -q -o " + tmp.file("x"), &rc);
  EXPECT_NE(rc, 0) << "distill without --teacher";
}

}  // namespace
