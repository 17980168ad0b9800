// Chat templates from GGUF metadata or tokenizer_config.json, rendered like transformers' apply_chat_template.
#include "tokenizer/chat_template.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/gguf.h"

namespace slm {

namespace {

// HF writes special tokens as strings or as AddedToken objects {"content": ..., ...}.
std::optional<std::string> token_string(const nlohmann::ordered_json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  throw Error(fmt::format("[chat_template] tokenizer_config '{}': expected a string or {{content: ...}}", key));
}

std::optional<std::string> gguf_token(const gguf::File& f, const char* id_key) {
  const std::optional<uint64_t> id = f.get_uint(id_key);
  if (!id) return std::nullopt;
  const gguf::Array* tokens = f.get_array("tokenizer.ggml.tokens");
  if (!tokens) return std::nullopt;
  if (*id >= tokens->items.size())
    throw Error(fmt::format("[chat_template] {} = {} is past the vocabulary ({} tokens)", id_key, *id, tokens->items.size()));
  const auto* s = std::get_if<std::string>(&tokens->items[size_t(*id)].data);
  if (!s) throw Error("[chat_template] tokenizer.ggml.tokens: expected an array of strings");
  return *s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("[chat_template] {}: cannot open", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ChatTemplate::ChatTemplate(std::string_view source, std::optional<std::string> bos_token,
                           std::optional<std::string> eos_token)
    : tmpl_(source), bos_(std::move(bos_token)), eos_(std::move(eos_token)) {
  // Probe: does a text part come out as its text (not as a printed list, not as an error)?
  const std::string probe = "Slm content-part probe 7f3a";
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  msgs.push_back({{"role", "user"}, {"content", nlohmann::ordered_json::array({{{"type", "text"}, {"text", probe}}})}});
  nlohmann::ordered_json vars = {{"messages", msgs}, {"tools", nullptr}, {"documents", nullptr},
                                 {"add_generation_prompt", true}};
  if (bos_) vars["bos_token"] = *bos_;
  if (eos_) vars["eos_token"] = *eos_;
  try {
    jinja::RenderOptions opt;
    opt.limits.max_steps = 1'000'000;
    const std::string out = tmpl_.render(vars, opt);
    content_parts_ = out.find(probe) != std::string::npos && out.find("'text'") == std::string::npos &&
                     out.find("\"text\"") == std::string::npos;
  } catch (const Error&) {
    content_parts_ = false;
  }
}

ChatTemplate ChatTemplate::from_gguf(const gguf::File& f, std::string_view name) {
  const std::string key = name.empty() ? "tokenizer.chat_template" : "tokenizer.chat_template." + std::string(name);
  const std::optional<std::string> src = f.get_string(key);
  if (!src) throw Error(fmt::format("[chat_template] GGUF has no '{}'", key));
  return ChatTemplate(*src, gguf_token(f, "tokenizer.ggml.bos_token_id"), gguf_token(f, "tokenizer.ggml.eos_token_id"));
}

ChatTemplate ChatTemplate::from_hf_config(const nlohmann::ordered_json& cfg, std::string_view name) {
  if (!cfg.is_object()) throw Error("[chat_template] tokenizer_config: expected a JSON object");
  auto it = cfg.find("chat_template");
  if (it == cfg.end() || it->is_null()) throw Error("[chat_template] tokenizer_config has no chat_template");
  std::string src;
  if (it->is_string()) {
    if (!name.empty() && name != "default")
      throw Error(fmt::format("[chat_template] tokenizer_config has a single chat_template, no '{}'", name));
    src = it->get<std::string>();
  } else if (it->is_array()) {
    const std::string want = name.empty() ? "default" : std::string(name);
    bool found = false;
    for (const auto& e : *it) {
      if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
          !e["template"].is_string())
        throw Error("[chat_template] tokenizer_config chat_template list: expected {name, template} objects");
      if (e["name"] == want) {
        src = e["template"].get<std::string>();
        found = true;
      }
    }
    if (!found) throw Error(fmt::format("[chat_template] tokenizer_config has no chat_template named '{}'", want));
  } else {
    throw Error("[chat_template] tokenizer_config chat_template: expected a string or a list");
  }
  return ChatTemplate(src, token_string(cfg, "bos_token"), token_string(cfg, "eos_token"));
}

ChatTemplate ChatTemplate::load(const std::string& path, std::string_view name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("[chat_template] {}: cannot open", path));
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::string_view(magic, 4) == "GGUF") return from_gguf(gguf::File::open(path), name);
  nlohmann::ordered_json cfg;
  try {
    cfg = nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("[chat_template] {}: neither GGUF nor valid JSON ({})", path, e.what()));
  }
  return from_hf_config(cfg, name);
}

nlohmann::ordered_json ChatTemplate::normalize_messages(const nlohmann::ordered_json& messages, bool keep_parts) {
  if (!messages.is_array()) throw Error("[chat_template] messages: expected a JSON array");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    nlohmann::ordered_json m = messages[i];
    if (!m.is_object()) throw Error(fmt::format("[chat_template] message {}: expected an object", i));
    if (!m.contains("role") || !m["role"].is_string())
      throw Error(fmt::format("[chat_template] message {}: missing string 'role'", i));
    if (auto c = m.find("content"); !keep_parts && c != m.end() && c->is_array()) {
      std::string text;
      for (size_t k = 0; k < c->size(); ++k) {
        const auto& part = (*c)[k];
        const std::string type = part.is_object() && part.contains("type") && part["type"].is_string()
                                     ? part["type"].get<std::string>() : std::string();
        if (type != "text" || !part.contains("text") || !part["text"].is_string())
          throw Error(fmt::format("[chat_template] message {} content part {}: only {{type: \"text\", text}} parts are supported{}",
                                  i, k, type.empty() ? "" : " (got '" + type + "')"));
        if (k > 0) text += "\n";
        text += part["text"].get<std::string>();
      }
      *c = text;
    }
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
      for (auto& call : *tc) {
        if (!call.is_object()) continue;
        auto fn = call.find("function");
        if (fn == call.end() || !fn->is_object()) continue;
        auto args = fn->find("arguments");
        if (args == fn->end() || !args->is_string()) continue;
        nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(args->get<std::string>(), nullptr, /*allow_exceptions=*/false);
        if (parsed.is_object()) *args = std::move(parsed);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt, const nlohmann::ordered_json& extra,
                                 const jinja::RenderOptions& opt) const {
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  vars["messages"] = normalize_messages(messages, content_parts_);
  vars["tools"] = nullptr;
  vars["documents"] = nullptr;
  vars["add_generation_prompt"] = add_generation_prompt;
  if (bos_) vars["bos_token"] = *bos_;
  if (eos_) vars["eos_token"] = *eos_;
  if (!extra.is_null()) {
    if (!extra.is_object()) throw Error("[chat_template] extra variables: expected a JSON object");
    for (const auto& [k, v] : extra.items()) vars[k] = v;
  }
  return tmpl_.render(vars, opt);
}

}  // namespace slm
