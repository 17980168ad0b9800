// Local GGUF candidates: label tasks by constrained choice over the labels, JSON tasks by greedy decoding
// constrained to the task's schema (every answer parses and validates), text tasks by greedy generation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "eval/candidate.h"
#include "model/model.h"
#include "runtime/constrained/compile.h"
#include "runtime/constrained/constraint.h"
#include "runtime/constrained/vocab.h"
#include "runtime/generate.h"
#include "runtime/sampling.h"
#include "runtime/text.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace slm::eval {

namespace {

using Clock = std::chrono::steady_clock;

class LocalCandidate : public Candidate {
 public:
  LocalCandidate(const TaskContract& t, const std::string& path, const std::string& lora)
      : task_(t), name_(std::filesystem::path(path).filename().string()), model_(model::Model::load(path)) {
    if (!lora.empty()) {  // applied at the matmul site (Model::add_lora)
      model_.add_lora(lora);
      name_ += "+" + std::filesystem::path(lora).filename().string();
    }
    auto tok = runtime::load_tokenizer(model_, "");
    if (!tok) fail("[eval] model '{}' has no tokenizer", path);
    tok_.emplace(std::move(*tok));
    if (!tok_->chat_template().empty() && model_.gguf()) tmpl_.emplace(ChatTemplate::from_gguf(*model_.gguf()));
    end_ = tok_->eot() != tok::kNoToken ? tok_->eot() : tok_->eos();
  }

  std::string name() const override { return name_; }
  std::string kind() const override { return "local"; }
  void keep_answer_logits(bool keep) { keep_answer_logits_ = keep; }

  Prediction predict(const std::string& input) override {
    const auto t0 = Clock::now();
    Prediction p;
    try {
      const std::string prompt = render(input);
      p = task_.kind == OutputKind::label  ? choose(prompt)
          : task_.kind == OutputKind::json ? generate_json(prompt)
                                           : generate(prompt);
    } catch (const Error& e) {
      p.error = e.what();
    }
    p.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return p;
  }

 private:
  std::string render(const std::string& input) const {
    if (!tmpl_) return input + "\n";
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    if (!task_.system.empty()) msgs.push_back({{"role", "system"}, {"content", task_.system}});
    msgs.push_back({{"role", "user"}, {"content", input}});
    return tmpl_->render(msgs, true);
  }

  std::vector<int32_t> encode(const std::string& text) const {
    const bool has_bos = tmpl_ && tmpl_->bos_token() && text.starts_with(*tmpl_->bos_token());
    return tok_->encode(text, {.add_special = !has_bos, .parse_special = true});
  }

  Prediction choose(const std::string& prompt) {
    const std::vector<int32_t> ptoks = encode(prompt);
    // Each label tokenised together with the prompt; the shared prompt is the shortest common prefix.
    std::vector<std::vector<int32_t>> full;
    size_t common = ptoks.size();
    for (const std::string& l : task_.labels) {
      full.push_back(encode(prompt + l));
      size_t c = 0;
      while (c < ptoks.size() && c < full.back().size() && full.back()[c] == ptoks[c]) ++c;
      common = std::min(common, c);
    }
    if (common == 0) fail("[eval] the prompt has no tokens shared by every label continuation");
    std::vector<std::vector<int32_t>> seqs;
    for (auto& f : full) {
      seqs.emplace_back(f.begin() + ptrdiff_t(common), f.end());
      if (end_ != tok::kNoToken) seqs.back().push_back(end_);
    }
    const size_t nv = size_t(model_.n_vocab());
    model::KvCache kv = model_.make_cache({.n_seq = 1, .n_ctx = 0, .type = model::KvType::f32});
    const std::span<const int32_t> head(ptoks.data(), common);
    if (head.size() + 64 > size_t(kv.n_ctx())) fail("[eval] prompt of {} tokens does not fit the context", head.size());
    const std::vector<float> last = model_.prefill(head, kv, 0, false);
    std::vector<std::vector<std::vector<float>>> rows(seqs.size());
    int n_scored = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      rows[i].push_back(last);
      if (seqs[i].size() > 1) {
        kv.truncate(0, int(common));
        const std::span<const int32_t> cont(seqs[i].data(), seqs[i].size() - 1);
        const std::vector<float> all = model_.prefill(cont, kv, 0, true);
        for (size_t j = 0; j < cont.size(); ++j) rows[i].emplace_back(all.begin() + ptrdiff_t(j * nv), all.begin() + ptrdiff_t((j + 1) * nv));
        n_scored += int(cont.size());
      }
    }
    Prediction p;
    p.probs = choice_probabilities(seqs, rows);
    p.label = int(std::max_element(p.probs.begin(), p.probs.end()) - p.probs.begin());
    p.output = task_.labels[size_t(p.label)];
    p.prompt_tokens = int(common);
    p.completion_tokens = int(seqs[size_t(p.label)].size());
    if (keep_answer_logits_) p.answer_logits = last;
    return p;
  }

  Prediction generate(const std::string& prompt) {
    if (!gen_) gen_.emplace(model_, runtime::GeneratorOptions{});
    runtime::GenerationRequest req;
    req.prompt = encode(prompt);
    req.sampling = runtime::greedy_params();
    req.max_tokens = task_.serving.max_tokens;
    req.stop_tokens = runtime::eog_tokens(*tok_);
    const runtime::GenerationResult r = gen_->generate(req, runtime::tokenizer_decoder(*tok_, false));
    Prediction p;
    p.output = r.text;
    p.prompt_tokens = r.n_prompt;
    p.completion_tokens = int(r.tokens.size());
    if (keep_answer_logits_) p.answer_logits = last_logits(req.prompt);
    return p;
  }

  // Greedy decoding where every step may only pick tokens that keep the text a prefix of a document the
  // task's schema accepts (src/runtime/constrained); it stops when the document is complete.
  Prediction generate_json(const std::string& prompt) {
    if (!json_index_) {
      auto trie = std::make_shared<constrained::VocabTrie>(constrained::vocabulary_from_tokenizer(*tok_));
      const bool any = task_.schema.is_null() || (task_.schema.is_object() && task_.schema.empty());
      json_index_ = std::make_shared<constrained::TokenIndex>(
          any ? constrained::compile_json_object()
              : constrained::compile_json_schema(nlohmann::ordered_json::parse(task_.schema.dump())),
          std::move(trie));
    }
    constrained::Constraint c(json_index_);
    const std::vector<int32_t> ids = encode(prompt);
    model::KvCache kv = model_.make_cache({.n_seq = 1, .n_ctx = 0, .type = model::KvType::f32});
    if (ids.empty() || ids.size() >= size_t(kv.n_ctx()))
      fail("[eval] prompt of {} tokens does not fit the context ({})", ids.size(), kv.n_ctx());
    const int budget = std::min(task_.serving.max_tokens, kv.n_ctx() - int(ids.size()));
    std::vector<float> logits = model_.prefill(ids, kv, 0, false);
    Prediction p;
    p.prompt_tokens = int(ids.size());
    if (keep_answer_logits_) p.answer_logits = logits;
    std::vector<int32_t> out;
    for (int i = 0; i < budget && !c.done(); ++i) {
      c.mask_logits(logits);
      const int32_t best = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      if (!std::isfinite(logits[size_t(best)]) || !c.advance(best)) break;  // nothing may follow
      if (c.finished()) break;                                              // end of text accepted
      out.push_back(best);
      logits = model_.prefill(std::span<const int32_t>(&best, 1), kv, 0, false);
    }
    p.output = tok_->decode(out);
    p.completion_tokens = int(out.size());
    return p;
  }

  // The logits after the whole prompt (the generator does not hand them out).
  std::vector<float> last_logits(std::span<const int32_t> prompt) const {
    model::KvCache kv = model_.make_cache({.n_seq = 1, .n_ctx = 0, .type = model::KvType::f32});
    if (prompt.empty() || prompt.size() > size_t(kv.n_ctx())) fail("[eval] prompt of {} tokens does not fit the context", prompt.size());
    return model_.prefill(prompt, kv, 0, false);
  }

  const TaskContract& task_;
  std::string name_;
  model::Model model_;
  std::optional<tok::Tokenizer> tok_;
  std::optional<ChatTemplate> tmpl_;
  std::optional<runtime::Generator> gen_;
  std::shared_ptr<constrained::TokenIndex> json_index_;
  int32_t end_ = tok::kNoToken;
  bool keep_answer_logits_ = false;
};

}  // namespace

std::unique_ptr<Candidate> make_local_candidate(const TaskContract& t, const std::string& model_path,
                                                const std::string& lora_path, bool keep_answer_logits) {
  auto c = std::make_unique<LocalCandidate>(t, model_path, lora_path);
  c->keep_answer_logits(keep_answer_logits);
  return c;
}

}  // namespace slm::eval
