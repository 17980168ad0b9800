// libFuzzer target for the OpenAI-compatible request bodies `slm serve` takes from the network: any body
// either parses into parameters or throws RequestError (a 400 naming the field), for both endpoints; the
// messages of a parsed chat request render through a ChatML template with tool calls, or throw slm::Error.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "serve/openai.h"
#include "tokenizer/chat_template.h"

namespace {

const slm::ChatTemplate& chatml() {
  static const slm::ChatTemplate t(
      R"({%- for m in messages -%}<|im_start|>{{ m.role }}
{% if m.content is string %}{{ m.content }}{% endif %}{% for c in m.tool_calls or [] %}<tool_call>{{ c.function.name }} {{ c.function.arguments | tojson }}</tool_call>{% endfor %}<|im_end|>
{% endfor -%}{%- if add_generation_prompt %}<|im_start|>assistant
{% endif -%})",
      std::nullopt, "<|im_end|>");
  return t;
}

}  // namespace

volatile size_t g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::serve;
  json body;
  try {
    body = parse_body(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const RequestError&) {
    return 0;
  }
  try {
    const CompletionParams p = parse_completion_request(body);
    if (p.chat || p.n < 1) __builtin_trap();
  } catch (const RequestError&) {
  }
  CompletionParams chat;
  try {
    chat = parse_chat_request(body);
  } catch (const RequestError&) {
    return 0;
  }
  if (!chat.chat || chat.n < 1 || !chat.messages.is_array()) __builtin_trap();
  try {
    slm::jinja::RenderOptions opt;
    opt.limits.max_steps = 1'000'000;
    g_sink = chatml().render(chat.messages, true, json::object(), opt).size();
  } catch (const slm::Error&) {
  }
  return 0;
}
