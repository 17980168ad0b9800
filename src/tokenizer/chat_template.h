// Chat templates: a model's `tokenizer.chat_template` (Jinja) rendered over OpenAI-style messages the
// way Hugging Face transformers' apply_chat_template(..., tokenize=False) does.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/jinja.h"

namespace slm::gguf {
class File;
}

namespace slm {

class ChatTemplate {
 public:
  // bos/eos: the special token strings; nullopt = not passed to the template (undefined there).
  ChatTemplate(std::string_view source, std::optional<std::string> bos_token, std::optional<std::string> eos_token);

  // From GGUF metadata: `tokenizer.chat_template` (or `tokenizer.chat_template.<name>` when `name` is
  // given), bos/eos from tokenizer.ggml.{bos,eos}_token_id indexing tokenizer.ggml.tokens.
  static ChatTemplate from_gguf(const gguf::File& f, std::string_view name = {});
  // From a HF tokenizer_config.json object: chat_template is a string or a list of {name, template}
  // (the "default" entry, or `name`); bos_token/eos_token are strings or {content: ...} objects.
  static ChatTemplate from_hf_config(const nlohmann::ordered_json& config, std::string_view name = {});
  // A GGUF file (by its magic) or a tokenizer_config.json.
  static ChatTemplate load(const std::string& path, std::string_view name = {});

  // messages: a JSON array of {role, content, ...}. Content may be a string, null, or a list of
  // {type: "text", text} parts. Templates that render such lists themselves (found by a probe render
  // at construction, e.g. Gemma 3, Mistral Small 3.1) get them as they are, like transformers; for the
  // others the text parts are joined into one string with "\n" (and other part types fail).
  // Tool-call arguments given as JSON strings (OpenAI style) are parsed into objects, as templates
  // expect. Variables passed: messages, tools=None, documents=None, add_generation_prompt,
  // bos_token, eos_token, then `extra` (a JSON object) on top (e.g. tools, enable_thinking).
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object(),
                     const jinja::RenderOptions& opt = {}) const;

  const std::string& source() const { return tmpl_.source(); }
  const std::optional<std::string>& bos_token() const { return bos_; }
  const std::optional<std::string>& eos_token() const { return eos_; }

  // Whether the template renders list-of-parts content itself.
  bool supports_content_parts() const { return content_parts_; }

  // The message list as the template sees it (tool-call arguments parsed; content parts joined
  // unless `keep_parts`).
  static nlohmann::ordered_json normalize_messages(const nlohmann::ordered_json& messages, bool keep_parts = false);

 private:
  jinja::Template tmpl_;
  std::optional<std::string> bos_, eos_;
  bool content_parts_ = false;
};

}  // namespace slm
