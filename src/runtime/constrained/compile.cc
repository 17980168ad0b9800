// The non-schema front ends: any JSON object or value, a choice among strings, a whole-output regex.
#include "runtime/constrained/compile.h"

#include "core/error.h"
#include "runtime/constrained/json_values.h"
#include "runtime/constrained/pattern.h"

namespace slm::constrained {

Grammar compile_json_object(const CompileOptions& opt) {
  return make_grammar(ir_seq({json_ws(opt.max_ws), json_any_object(std::max(opt.max_depth, 1), opt.max_ws)}),
                      opt.max_states);
}

Grammar compile_json_value(const CompileOptions& opt) {
  return make_grammar(ir_seq({json_ws(opt.max_ws), json_any_value(opt.max_depth, opt.max_ws)}), opt.max_states);
}

Grammar compile_choice(const std::vector<std::string>& choices, const CompileOptions& opt) {
  constexpr size_t kMaxChoice = 16 << 10;
  if (choices.empty()) fail("[choice] the list of choices is empty");
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].empty()) fail("[choice] choice {} is an empty string", i);
    if (choices[i].size() > kMaxChoice) fail("[choice] choice {} is longer than {} bytes", i, kMaxChoice);
    decode_utf8(choices[i], fmt::format("[choice] choice {}", i));  // validates
  }
  return make_grammar(ir_literals(choices), opt.max_states);
}

Grammar compile_regex(std::string_view pattern, const CompileOptions& opt) {
  Grammar g = make_grammar(compile_pattern(pattern, false, CharEncoding::raw, "[regex]"), opt.max_states);
  if (!g.nfa->live[g.nfa->start]) fail("[regex] pattern '{}' matches nothing", pattern);
  return g;
}

}  // namespace slm::constrained
