// kill -9 in the middle of `slm train`, then --resume: the final adapters and checkpoint are byte for byte
// those of an uninterrupted run (one thread), and metrics.jsonl holds each step once.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/testdata.h"

namespace {

pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("SLM_THREADS", "1", 1);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1), dup2(devnull, 2);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The step recorded in a checkpoint (after the 8-byte magic), or -1 while there is none.
int checkpoint_step(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[12];
  if (!f.read(head, sizeof head)) return -1;
  int step = 0;
  std::memcpy(&step, head + 8, 4);
  return step;
}

TEST(TrainResume, KillNineThenResumeIsBitIdentical) {
  SLM_REQUIRE_TESTDATA(model, "models/stories260K/stories260K.gguf");
  slm::testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("t.jsonl"));
    for (const char* who : {"Tim", "Lily", "Ben", "Sue", "Max"})
      f << "{\"prompt\": \"" << who << " went to the park.\", \"completion\": \" The sky was green and the sun "
        << "sang a song.\"}\n";
  }
  const int steps = 150;
  auto args = [&](const std::string& out, bool resume) {
    std::vector<std::string> a = {SLM_EXE, "train", "--mode", "lora", "-m", model.string(), "--data",
                                  tmp.file("t.jsonl"), "--rank", "4", "--dropout", "0.1", "--steps",
                                  std::to_string(steps), "--batch", "2", "--lr", "3e-3", "--warmup", "5",
                                  "--checkpoint-every", "2", "-t", "1", "-q", "-o", out};
    if (resume) a.push_back("--resume");
    return a;
  };
  const std::string a = tmp.file("uninterrupted"), b = tmp.file("killed");
  ASSERT_EQ(wait_exit(spawn(args(a, false))), 0);

  const pid_t pid = spawn(args(b, false));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (checkpoint_step(b + "/checkpoint.bin") < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  kill(pid, SIGKILL);
  const int status = wait_exit(pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run ended before it was killed";
  const int killed_at = checkpoint_step(b + "/checkpoint.bin");
  ASSERT_GE(killed_at, 4);
  ASSERT_LT(killed_at, steps);

  ASSERT_EQ(wait_exit(spawn(args(b, true))), 0);
  for (const char* f : {"adapter.gguf", "adapter_model.safetensors", "checkpoint.bin"}) {
    const std::string x = slurp(a + "/" + f), y = slurp(b + "/" + f);
    EXPECT_FALSE(x.empty()) << f;
    EXPECT_TRUE(x == y) << f << " differs after a kill at step " << killed_at;
  }
  std::ifstream m(b + "/metrics.jsonl");
  int expect = 1;
  for (std::string line; std::getline(m, line); ++expect)
    EXPECT_EQ(nlohmann::json::parse(line)["step"], expect);
  EXPECT_EQ(expect - 1, steps);
}

}  // namespace
