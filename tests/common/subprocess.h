// Running real programs (the `slm` binary, node, chromium) from end-to-end tests: shell quoting, and a
// child's exit code with its stdout and stderr. Header-only; SLM_EXE is set by tests/CMakeLists.txt.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "common/testdata.h"

namespace slm::testing {

// s in single quotes for /bin/sh, embedded quotes escaped.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Output {
  int rc = -1;           // exit status; -1 when the child did not exit normally
  std::string out, err;  // stdout; stderr (empty when merged into out)
  std::string both() const { return out + "\n[stderr] " + err; }
};

// Runs `cmd` under /bin/sh with stdin from /dev/null. merge_stderr: stderr goes to out (2>&1); otherwise
// it is kept apart (so --json output parses) and returned in err.
inline Output run_command(const std::string& cmd, bool merge_stderr) {
  Output o;
  const TempDir tmp;
  const std::string err_path = tmp.file("stderr.txt");
  const std::string redirect = merge_stderr ? " 2>&1" : " 2>" + quote(err_path);
  FILE* p = popen((cmd + redirect + " </dev/null").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) o.out.append(buf, n);
  const int status = pclose(p);
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!merge_stderr) {
    std::ifstream in(err_path);
    o.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return o;
}

#ifdef SLM_EXE
// `slm ARGS` (ARGS already quoted where needed).
inline Output run_slm(const std::string& args, bool merge_stderr) {
  return run_command(quote(SLM_EXE) + " " + args, merge_stderr);
}
#endif

}  // namespace slm::testing
