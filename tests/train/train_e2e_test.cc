// slm train / merge / run --lora end to end on stories260K: the merged model and the adapter at the matmul
// site produce the same greedy text, which shows the trained completion.
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
