// The `slm` command tree: it builds (no duplicate subcommands) and every subcommand answers --help.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "common/subprocess.h"

namespace {

using Result = slm::testing::Output;
Result run(const std::string& args) { return slm::testing::run_slm(args, true); }

TEST(HelpE2e, EverySubcommandAnswersHelp) {
  const Result top = run("--help");
  ASSERT_EQ(top.rc, 0) << top.out;
  // Subcommand names are the first word of the indented lines after "Subcommands:".
  std::istringstream in(top.out.substr(top.out.find("Subcommands:")));
  std::string line;
  std::vector<std::string> names;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    if (words >> name) names.push_back(name);
  }
  ASSERT_GE(names.size(), 10u) << top.out;
  for (const std::string& name : names) {
    const Result r = run(name + " --help");
    EXPECT_EQ(r.rc, 0) << name << ": " << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << name;
  }
}

TEST(HelpE2e, UnknownSubcommandIsAnError) {
  const Result r = run("no-such-command");
  EXPECT_NE(r.rc, 0);
  EXPECT_FALSE(r.out.empty());
}

}  // namespace
