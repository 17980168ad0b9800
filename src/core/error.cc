// SLM_CHECK's failure path.
#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace slm {

void check_failed(const char* file, int line, const char* cond, const std::string& msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s %s\n", file, line, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace slm
