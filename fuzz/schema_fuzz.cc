// libFuzzer target for structured output's JSON Schema compiler (a schema arrives in any request's
// response_format): the input is a schema, then optionally a NUL byte and a candidate output. Any schema
// either compiles or throws slm::Error within the state limit; the candidate is run through the compiled
// automaton, and every candidate it accepts must be valid JSON.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "runtime/constrained/compile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::constrained;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string_view schema = in.substr(0, nul);
  const std::string_view candidate = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  CompileOptions opt;
  opt.max_states = 200'000;  // every input runs in milliseconds; the default only scales it
  std::optional<Grammar> g;
  try {
    g.emplace(compile_json_schema_text(schema, opt));
  } catch (const slm::Error&) {
    return 0;
  }
  if (g->n_states() > opt.max_states) __builtin_trap();
  if (grammar_matches(*g, candidate) && !nlohmann::json::accept(candidate)) __builtin_trap();
  return 0;
}
