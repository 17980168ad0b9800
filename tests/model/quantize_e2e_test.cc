// slm quantize / imatrix / quant-report end to end on stories260K: types in the file, the gate's exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "common/testdata.h"
#include "io/gguf.h"
#include "model/imatrix.h"

namespace {

int run(const std::string& args, const std::string& out) {
  const int rc = std::system((std::string(SLM_EXE) + " " + args + " > " + out + " 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(QuantizeE2e, ImatrixQuantizeAndGate) {
  SLM_REQUIRE_TESTDATA(model, "models/stories260K/stories260K.gguf");
  slm::testing::TempDir tmp;
  const std::string text = tmp.file("calib.txt"), log = tmp.file("log.txt");
  std::ofstream(text) << slurp((model.parent_path() / "expected_greedy_t0_n200.txt").string());
  ASSERT_EQ(run("imatrix -m " + model.string() + " -f " + text + " -o " + tmp.file("im.dat") + " -c 64", log), 0)
      << slurp(log);
  ASSERT_EQ(run("quantize -q --imatrix " + tmp.file("im.dat") + " " + model.string() + " " + tmp.file("q.gguf") +
                    " Q4_K_M",
                log),
            0)
      << slurp(log);
  EXPECT_NE(slurp(log).find("35 with imatrix"), std::string::npos) << slurp(log);
  const slm::gguf::File q = slm::gguf::File::open(tmp.file("q.gguf"));
  EXPECT_EQ(q.get_uint("general.file_type"), 15u);
  EXPECT_EQ(q.get_int("quantize.imatrix.entries_count"), 35);
  ASSERT_EQ(run("inspect " + tmp.file("q.gguf"), log), 0);
  EXPECT_NE(slurp(log).find("Q5_0"), std::string::npos);
  const std::string base = "quant-report --base " + model.string() + " --quant " + tmp.file("q.gguf") +
                           " --text " + text + " -c 64";
  EXPECT_EQ(run(base + " --json --max-kld 10", log), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("\"kld_mean\""), std::string::npos);
  EXPECT_EQ(run(base + " --max-kld 0", log), 3) << slurp(log);
  EXPECT_NE(slurp(log).find("FAIL"), std::string::npos);
  const std::string task = "quant-report --base " + model.string() + " --quant " + tmp.file("q.gguf") + " --task ";
  EXPECT_EQ(run(task + tmp.file("missing.yaml"), log), 1);  // the task path of the gate: see tests/eval
  EXPECT_NE(slurp(log).find("missing.yaml"), std::string::npos) << slurp(log);
  EXPECT_EQ(run("quantize " + model.string() + " " + tmp.file("x.gguf") + " Q9_K", log), 1);
}

TEST(QuantizeE2e, GgufAndLegacyImatrixAgree) {
  SLM_REQUIRE_TESTDATA(model, "models/stories260K/stories260K.gguf");
  slm::testing::TempDir tmp;
  const std::string text = tmp.file("calib.txt"), log = tmp.file("log.txt");
  std::ofstream(text) << slurp((model.parent_path() / "expected_greedy_t0_n200.txt").string());
  const std::string collect = "imatrix -m " + model.string() + " -f " + text + " -c 64 -o ";
  ASSERT_EQ(run(collect + tmp.file("im.gguf"), log), 0) << slurp(log);  // GGUF from the name
  ASSERT_EQ(run(collect + tmp.file("im.dat"), log), 0) << slurp(log);
  ASSERT_EQ(run(collect + tmp.file("im2") + " --output-format gguf", log), 0) << slurp(log);
  EXPECT_EQ(slurp(tmp.file("im.gguf")).substr(0, 4), "GGUF");
  EXPECT_EQ(slurp(tmp.file("im2")).substr(0, 4), "GGUF");
  EXPECT_NE(slurp(tmp.file("im.dat")).substr(0, 4), "GGUF");
  EXPECT_EQ(slm::gguf::File::open(tmp.file("im.gguf")).get_string("general.type"), "imatrix");
  // The same means either way (in_sum2 / counts against the legacy mean * ncall / ncall: float rounding only).
  const slm::model::Imatrix g = slm::model::imatrix_read(tmp.file("im.gguf")), d = slm::model::imatrix_read(tmp.file("im.dat"));
  ASSERT_EQ(g.entries.size(), 35u);
  ASSERT_EQ(d.entries.size(), 35u);
  for (const auto& [name, e] : d.entries) {
    const std::vector<float>* v = g.find(name);
    ASSERT_NE(v, nullptr) << name;
    ASSERT_EQ(v->size(), e.values.size()) << name;
    for (size_t j = 0; j < v->size(); ++j) EXPECT_NEAR((*v)[j], e.values[j], 1e-6 * e.values[j]) << name << " " << j;
  }
  ASSERT_EQ(run("quantize -q --imatrix " + tmp.file("im.gguf") + " " + model.string() + " " + tmp.file("q.gguf") + " IQ4_XS", log), 0)
      << slurp(log);
  EXPECT_EQ(slm::gguf::File::open(tmp.file("q.gguf")).get_int("quantize.imatrix.entries_count"), 35);
}

}  // namespace
