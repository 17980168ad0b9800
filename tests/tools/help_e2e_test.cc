// The `slm` command tree: it builds (no duplicate subcommands) and every subcommand answers --help.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Result {
  int exit_code;
  std::string output;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(SLM_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

TEST(HelpE2e, EverySubcommandAnswersHelp) {
  const Result top = run("--help");
  ASSERT_EQ(top.exit_code, 0) << top.output;
  // Subcommand names are the first word of the indented lines after "Subcommands:".
  std::istringstream in(top.output.substr(top.output.find("Subcommands:")));
  std::string line;
  std::vector<std::string> names;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    if (words >> name) names.push_back(name);
  }
  ASSERT_GE(names.size(), 10u) << top.output;
  for (const std::string& name : names) {
    const Result r = run(name + " --help");
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << name;
  }
}

TEST(HelpE2e, UnknownSubcommandIsAnError) {
  const Result r = run("no-such-command");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.output.empty());
}

}  // namespace
