// `slm chat`: an interactive chat with the model's own chat template. Reads one user line at a time from
// stdin, streams the reply; /exit or end of input quits. The KV cache is kept across turns: each turn
// re-renders the whole conversation and only the part after the common prefix is computed.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "core/error.h"
#include "gen_flags.h"
#include "runtime/text.h"
#include "tokenizer/chat_template.h"

namespace slm::cli {
namespace {

struct ChatFlags : GenFlags {
  std::string system, template_override;
  int n_predict = 512;
  bool show_timings = false;
};

// The conversation so far, rendered with the model's template as Hugging Face does, then tokenised.
class Conversation {
 public:
  Conversation(const tok::Tokenizer& tok, const std::string& source)
      : tok_(tok), tmpl_(source, token_text(tok, tok.bos()), token_text(tok, tok.eos())) {}

  void add(const std::string& role, const std::string& content) {
    messages_.push_back({{"role", role}, {"content", content}});
  }
  // Drops the oldest exchange after any system message; false when there is none left to drop.
  bool drop_oldest_turn() {
    const size_t first = !messages_.empty() && messages_[0]["role"] == "system" ? 1 : 0;
    if (messages_.size() < first + 3) return false;  // keep the newest user message
    messages_.erase(messages_.begin() + ptrdiff_t(first), messages_.begin() + ptrdiff_t(first + 2));
    return true;
  }
  std::vector<int32_t> prompt() const {
    const std::string text = tmpl_.render(messages_, /*add_generation_prompt=*/true);
    std::vector<int32_t> ids = tok_.encode(text, tok::EncodeOptions{.add_special = true, .parse_special = true});
    if (ids.size() >= 2 && ids[0] == tok_.bos() && ids[1] == tok_.bos()) ids.erase(ids.begin());  // template wrote it too
    return ids;
  }

 private:
  static std::optional<std::string> token_text(const tok::Tokenizer& tok, tok::TokenId id) {
    if (id == tok::kNoToken) return std::nullopt;
    return tok.token_text(id);
  }
  const tok::Tokenizer& tok_;
  ChatTemplate tmpl_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
};

void chat(ChatFlags& f) {
  const model::Model model = model::Model::load(f.model);
  const std::optional<tok::Tokenizer> tok = runtime::load_tokenizer(model, f.tokenizer);
  if (!tok) fail("[chat] {} has no vocabulary: pass --tokenizer FILE", f.model);
  const std::string source = f.template_override.empty() ? tok->chat_template() : f.template_override;
  if (source.empty()) fail("[chat] {} has no chat template (tokenizer.chat_template): pass --template", f.model);
  Conversation conv(*tok, source);
  if (!f.system.empty()) conv.add("system", f.system);

  runtime::Generator gen(model, f.generator(model));
  const runtime::DecoderFactory decoder = runtime::tokenizer_decoder(*tok, true);
  const std::vector<int32_t> eog = runtime::eog_tokens(*tok);
  const bool tty = isatty(STDIN_FILENO);
  runtime::SamplingParams sampling = f.sampling();
  std::string line;
  for (;;) {
    if (tty) std::fputs("> ", stderr);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit") break;
    if (line.empty()) continue;
    conv.add("user", line);
    runtime::GenerationRequest req;
    req.prompt = conv.prompt();
    while (req.prompt.size() + 1 >= size_t(gen.n_ctx()) && conv.drop_oldest_turn()) req.prompt = conv.prompt();
    if (req.prompt.size() + 1 >= size_t(gen.n_ctx())) {
      fail("[chat] the message needs {} tokens, more than the context of {}", req.prompt.size(), gen.n_ctx());
    }
    req.sampling = sampling;
    ++sampling.seed;  // a different draw each turn, reproducible from the seed
    req.max_tokens = f.n_predict;
    req.stop_strings = f.stops;
    if (!f.ignore_eos) req.stop_tokens = eog;
    const runtime::GenerationResult r = gen.generate(req, decoder, [](const runtime::StreamEvent& e) {
      std::fwrite(e.text.data(), 1, e.text.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
    std::fflush(stdout);
    conv.add("assistant", r.text);
    if (f.show_timings) {
      const runtime::Timings& t = gen.timings();
      std::fprintf(stderr, "[%d prompt tokens (%d cached), %.1f tokens/s; %d generated, %.1f tokens/s]\n",
                   t.n_prompt, r.n_cached, t.prompt_tps(), t.n_gen, t.gen_tps());
    }
  }
}

}  // namespace

void register_chat(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "interactive chat with the model's chat template (stdin lines)");
  auto f = std::make_shared<ChatFlags>();
  f->add_to(cmd);
  cmd->add_option("--system", f->system, "system message");
  cmd->add_option("--template", f->template_override, "Jinja chat template to use instead of the model's");
  cmd->add_option("-n,--n-predict", f->n_predict, "most tokens per reply (-1 = until the context is full)");
  cmd->add_flag("--timings", f->show_timings, "print token counts and speeds after each reply (stderr)");
  cmd->callback([f] { chat(*f); });
}

}  // namespace slm::cli
