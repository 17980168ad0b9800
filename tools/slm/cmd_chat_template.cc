// `slm chat-template`: renders a message list with a model's chat template (from a GGUF file or a
// Hugging Face tokenizer_config.json) and prints the prompt text exactly, with no added newline.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace slm::cli {
namespace {

struct ChatTemplateFlags {
  std::string model, messages, vars, name, date;
  bool add_generation_prompt = false;
};

// A JSON string, or @path for a file holding one.
nlohmann::ordered_json json_arg(const std::string& flag, const std::string& arg) {
  std::string text = arg;
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) fail("[chat-template] {} {}: cannot open", flag, arg.substr(1));
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("[chat-template] {}: invalid JSON: {}", flag, e.what());
  }
}

void run(const ChatTemplateFlags& f) {
  const ChatTemplate tmpl = ChatTemplate::load(f.model, f.name);
  nlohmann::ordered_json messages = json_arg("--messages", f.messages);
  if (messages.is_object() && messages.contains("messages")) messages = messages["messages"];
  const nlohmann::ordered_json extra = f.vars.empty() ? nlohmann::ordered_json::object() : json_arg("--vars", f.vars);
  jinja::RenderOptions opt;
  if (!f.date.empty()) {  // a fixed day for strftime_now(), for reproducible renders
    std::tm t{};
    const char* end = strptime(f.date.c_str(), "%Y-%m-%d", &t);
    if (!end || *end) fail("[chat-template] --date {}: expected YYYY-MM-DD", f.date);
    t.tm_isdst = -1;
    std::time_t secs = timegm(&t);
    gmtime_r(&secs, &t);  // fills in the weekday and day of the year
    opt.now = t;
  }
  const std::string out = tmpl.render(messages, f.add_generation_prompt, extra, opt);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_chat_template(CLI::App& app) {
  auto f = std::make_shared<ChatTemplateFlags>();
  CLI::App* cmd = app.add_subcommand("chat-template", "Render messages with a model's chat template");
  cmd->add_option("-m,--model", f->model, "GGUF file or tokenizer_config.json")->required();
  cmd->add_option("--messages", f->messages,
                  "messages as a JSON array (or {\"messages\": [...]}), or @FILE holding it")->required();
  cmd->add_flag("--add-generation-prompt", f->add_generation_prompt, "end with the assistant turn's header");
  cmd->add_option("--vars", f->vars, "extra template variables as a JSON object or @FILE (e.g. tools)");
  cmd->add_option("--date", f->date, "render strftime_now() on this day (YYYY-MM-DD) instead of today");
  cmd->add_option("--name", f->name, "a named template (tokenizer.chat_template.NAME / chat_template list)");
  cmd->callback([f] { run(*f); });
}

}  // namespace slm::cli
