// `slm export --hf` then `slm convert` end to end through the command line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/testdata.h"

namespace {

using slm::testing::TempDir;

int run(const std::string& args, const std::string& log) {
  const std::string cmd = std::string(SLM_EXE) + " " + args + " > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ConvertCli, ExportThenConvertReproducesTheGguf) {
  SLM_REQUIRE_TESTDATA(src, "models/synthetic/qwen2-f16.gguf");
  TempDir tmp;
  ASSERT_EQ(run("export --hf " + src.string() + " -o " + tmp.file("hf"), tmp.file("log1")), 0) << read(tmp.file("log1"));
  EXPECT_NE(read(tmp.file("log1")).find("tokenizer files: yes"), std::string::npos) << read(tmp.file("log1"));
  ASSERT_EQ(run("convert " + tmp.file("hf") + " -o " + tmp.file("back.gguf"), tmp.file("log2")), 0) << read(tmp.file("log2"));
  EXPECT_TRUE(read(src.string()) == read(tmp.file("back.gguf")));
  // Without the side file the weights can still be re-typed.
  ASSERT_EQ(run("convert " + tmp.file("hf") + " -o " + tmp.file("q8.gguf") + " --type q8_0 --ignore-side-file",
                tmp.file("log3")),
            0)
      << read(tmp.file("log3"));
}

TEST(ConvertCli, Llama2cCheckpoint) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  TempDir tmp;
  EXPECT_EQ(run("convert " + (dir / "stories260K.bin").string() + " --tokenizer " + (dir / "tok512.bin").string() +
                    " -o " + tmp.file("s.gguf"),
                tmp.file("log")),
            0)
      << read(tmp.file("log"));
  EXPECT_NE(read(tmp.file("log")).find("47 tensors"), std::string::npos) << read(tmp.file("log"));  // 5 x 9 + 2, tied
}

TEST(ConvertCli, BadInputIsAnErrorExit) {
  TempDir tmp;
  EXPECT_EQ(run("convert " + tmp.path().string() + " -o " + tmp.file("x.gguf"), tmp.file("log")), 1);
  EXPECT_NE(read(tmp.file("log")).find("slm: error: [convert]"), std::string::npos) << read(tmp.file("log"));
  EXPECT_EQ(run("convert " + tmp.path().string() + " -o " + tmp.file("x.gguf") + " --type q4_k", tmp.file("log")), 1);
  EXPECT_EQ(run("export --hf " + tmp.file("absent.gguf") + " -o " + tmp.file("out"), tmp.file("log")), 1);
}

}  // namespace
