// libFuzzer target for the chat-template engine (a template arrives with any GGUF or tokenizer_config.json):
// any source either parses or throws slm::Error; a parsed template renders a fixed conversation with tools
// or throws slm::Error, within the limits (no crash, no hang, no unbounded growth), and renders it the same
// way twice. Seeds: the .jinja chat templates of the test data.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/jinja.h"

namespace {

const nlohmann::ordered_json& conversation() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "Weather in Paris? \u00e9\n"},
      {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "id": "c1",
        "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "content": "{\"t\": 21}", "tool_call_id": "c1"},
      {"role": "assistant", "content": [{"type": "text", "text": "21 C."}]},
      {"role": "user", "content": "Thanks"}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Now.",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true, "enable_thinking": false
  })");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::jinja;
  // Limits small enough that every input runs in milliseconds; the defaults only scale them.
  Limits limits;
  limits.max_output_bytes = 1u << 20;
  limits.max_list_items = 1u << 14;
  limits.max_steps = 1'000'000;
  limits.max_call_depth = 32;
  std::optional<Template> t;
  try {
    t.emplace(std::string_view(reinterpret_cast<const char*>(data), size), Options{}, limits);
  } catch (const slm::Error&) {
    return 0;
  }
  RenderOptions opt;
  opt.limits = limits;
  opt.now = std::tm{};
  opt.now->tm_year = 126, opt.now->tm_mon = 10, opt.now->tm_mday = 23;
  std::string first;
  try {
    first = t->render(conversation(), opt);
  } catch (const slm::Error&) {
    return 0;
  }
  if (first.size() > limits.max_output_bytes) __builtin_trap();
  if (t->render(conversation(), opt) != first) __builtin_trap();
  return 0;
}
