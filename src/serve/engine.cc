// Engine: model + tokenizer + chat template + scheduler; OpenAI parameters -> scheduler requests.
#include "serve/engine.h"

#include <algorithm>
#include <random>

#include "core/error.h"
#include "runtime/constrained/compile.h"
#include "runtime/text.h"

namespace slm::serve {
namespace {

// Used when the model carries no chat template (ChatML layout).
constexpr const char* kDefaultTemplate =
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

std::optional<std::string> token_text(const tok::Tokenizer& t, tok::TokenId id) {
  if (id == tok::kNoToken || id < 0 || id >= t.n_vocab()) return std::nullopt;
  return t.token_text(id);
}

std::string file_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

[[noreturn]] void too_long(const std::string& param, size_t n, int n_ctx) {
  throw RequestError(ApiError{
      .status = 400,
      .message = fmt::format("the prompt has {} tokens; the context holds {} (prompt plus at least one generated)", n,
                             n_ctx),
      .param = param,
      .code = "context_length_exceeded"});
}

}  // namespace

Engine::Engine(const EngineOptions& opt) : model_(model::Model::load(opt.model_path)) {
  model_id_ = opt.model_id.empty() ? file_name(opt.model_path) : opt.model_id;
  for (const LoraOption& l : opt.loras) {
    std::string name = l.name;
    if (name.empty()) {
      name = file_name(l.path);
      if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
    }
    if (name == model_id_ || std::find(adapter_names_.begin(), adapter_names_.end(), name) != adapter_names_.end())
      fail("[serve] two models would be named '{}': give the adapter another file name", name);
    const int id = model_.add_lora(l.path, l.scale);
    SLM_CHECK(id == int(adapter_names_.size()), "adapter {} of {}", id, adapter_names_.size());
    adapter_names_.push_back(std::move(name));
  }
  tok_ = runtime::load_tokenizer(model_, opt.tokenizer_path);
  if (!tok_) fail("[serve] {} has no vocabulary: pass --tokenizer FILE", opt.model_path);
  if (tok_->n_vocab() > model_.n_vocab())
    fail("[serve] the vocabulary has {} tokens, the model only {}", tok_->n_vocab(), model_.n_vocab());
  const std::string source =
      !opt.chat_template.empty() ? opt.chat_template
                                 : (!tok_->chat_template().empty() ? tok_->chat_template() : kDefaultTemplate);
  tmpl_.emplace(source, token_text(*tok_, tok_->bos()), token_text(*tok_, tok_->eos()));
  eog_ = runtime::eog_tokens(*tok_);
  grammar_cache_ = std::max<size_t>(1, opt.grammar_cache);
  sched_ = std::make_unique<runtime::Scheduler>(model_, opt.scheduler);
}

Engine::~Engine() {
  if (sched_) sched_->stop(false);
}

std::optional<int> Engine::adapter_for(const std::string& model) const {
  if (model.empty() || model == model_id_) return -1;
  const auto it = std::find(adapter_names_.begin(), adapter_names_.end(), model);
  if (it == adapter_names_.end()) return std::nullopt;
  return int(it - adapter_names_.begin());
}

std::vector<int32_t> Engine::chat_prompt(const json& messages) const {
  std::string text;
  try {
    text = tmpl_->render(messages, /*add_generation_prompt=*/true);
  } catch (const Error& e) {
    bad_request("messages", std::string("the chat template cannot render these messages: ") + e.what());
  }
  std::vector<int32_t> ids = tok_->encode(text, tok::EncodeOptions{.add_special = true, .parse_special = true});
  if (ids.size() >= 2 && ids[0] == tok_->bos() && ids[1] == tok_->bos()) ids.erase(ids.begin());  // template wrote it
  return ids;
}

std::string Engine::piece(int32_t id) const {
  if (id < 0 || id >= tok_->n_vocab()) return {};
  return tok_->token_to_piece(id, /*special=*/true);
}

std::shared_ptr<constrained::TokenIndex> Engine::constraint(const ResponseFormat& f) {
  using K = ResponseFormat::Kind;
  if (f.kind == K::text) return nullptr;
  std::string key;
  switch (f.kind) {
    case K::json_object: key = "o"; break;
    case K::json_schema: key = "s" + f.schema.dump(); break;
    case K::choice: key = "c" + json(f.choices).dump(); break;
    case K::regex: key = "r" + f.pattern; break;
    case K::text: break;
  }
  {
    std::lock_guard lk(mu_);
    for (auto it = grammars_.begin(); it != grammars_.end(); ++it) {
      if (it->first != key) continue;
      grammars_.splice(grammars_.begin(), grammars_, it);
      return it->second;
    }
  }
  constrained::Grammar g;
  try {
    switch (f.kind) {
      case K::json_object: g = constrained::compile_json_object(); break;
      case K::json_schema: g = constrained::compile_json_schema(f.schema); break;
      case K::choice: g = constrained::compile_choice(f.choices); break;
      case K::regex: g = constrained::compile_regex(f.pattern); break;
      case K::text: break;
    }
  } catch (const Error& e) {
    bad_request("response_format", std::string("cannot enforce this response_format: ") + e.what());
  }
  std::lock_guard lk(mu_);
  if (!trie_) trie_ = std::make_shared<constrained::VocabTrie>(constrained::vocabulary_from_tokenizer(*tok_));
  auto index = std::make_shared<constrained::TokenIndex>(std::move(g), trie_, size_t(64) << 20);
  grammars_.emplace_front(key, index);
  if (grammars_.size() > grammar_cache_) grammars_.pop_back();
  return index;
}

Job Engine::build(const CompletionParams& p, std::optional<runtime::Clock::time_point> deadline) {
  const std::string prompt_param = p.chat ? "messages" : "prompt";
  std::vector<std::vector<int32_t>> prompts;
  if (p.chat) {
    prompts.push_back(chat_prompt(p.messages));
  } else {
    for (const std::string& s : p.prompts) prompts.push_back(tok_->encode(s, tok::EncodeOptions{.add_special = true}));
    for (const auto& ids : p.prompt_ids) {
      for (int32_t t : ids) {
        if (t >= model_.n_vocab())
          bad_request("prompt", fmt::format("token id {} out of range [0, {})", t, model_.n_vocab()));
      }
      prompts.push_back(ids);
    }
  }
  for (const runtime::LogitBias& b : p.sampling.logit_bias) {
    if (b.id >= model_.n_vocab())
      bad_request("logit_bias", fmt::format("token id {} out of range [0, {})", b.id, model_.n_vocab()));
  }
  const int n_ctx = sched_->n_ctx();
  Job job;
  for (const auto& ids : prompts) {
    if (ids.empty()) bad_request(prompt_param, "the prompt encodes to no tokens");
    if (ids.size() >= size_t(n_ctx)) too_long(prompt_param, ids.size(), n_ctx);
    const int room = n_ctx - int(ids.size());
    if (p.max_tokens && *p.max_tokens > room)
      bad_request("max_tokens", fmt::format("max_tokens {} plus the prompt's {} tokens exceed the context of {}",
                                            *p.max_tokens, ids.size(), n_ctx));
    job.prompt_tokens.push_back(int(ids.size()));
  }
  std::shared_ptr<constrained::TokenIndex> index = constraint(p.format);
  uint64_t seed = p.sampling.seed;
  if (!p.seed_given) seed = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const int room = n_ctx - int(prompts[i].size());
    for (int c = 0; c < p.n; ++c) {
      runtime::SeqRequest r;
      r.prompt = prompts[i];
      r.sampling = p.sampling;
      r.sampling.seed = seed + uint64_t(i) * uint64_t(p.n) + uint64_t(c);
      r.max_tokens = p.max_tokens ? *p.max_tokens : (p.chat ? room : std::min(16, room));
      r.stop_strings = p.stop;
      r.stop_tokens = eog_;
      r.n_logprobs = p.n_logprobs;
      r.constraint = index;
      r.decoder = runtime::tokenizer_decoder(*tok_, /*strip_space=*/p.chat)();
      r.deadline = deadline;
      job.seqs.push_back(std::move(r));
      job.prompt_of.push_back(int(i));
    }
  }
  return job;
}

}  // namespace slm::serve
