// libFuzzer target for the regular expressions of structured output (a JSON Schema "pattern", the regex
// constraint): the input is a pattern, then optionally a NUL byte and a candidate output. Any pattern either
// compiles or throws slm::Error within the state limit, and the candidate runs through the automaton.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "runtime/constrained/compile.h"

volatile bool g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::constrained;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  CompileOptions opt;
  opt.max_states = 200'000;
  std::optional<Grammar> g;
  try {
    g.emplace(compile_regex(in.substr(0, nul), opt));
  } catch (const slm::Error&) {
    return 0;
  }
  if (g->n_states() > opt.max_states) __builtin_trap();
  g_sink = grammar_matches(*g, nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1));
  return 0;
}
