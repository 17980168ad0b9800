// `slm logits`: float32 logits [n_tokens, n_vocab] for every position of a prompt, for comparisons.
#include <cstdio>
#include <memory>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace slm::cli {
namespace {

struct LogitsOpts {
  std::string model, prompt, ids, out;
  bool f32_cache = false;
  int chunk = 512;
};

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::istringstream in(s);
  std::string tok;
  while (in >> tok) {
    try {
      size_t used = 0;
      const long v = std::stol(tok, &used);
      if (used != tok.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument(tok);
      ids.push_back(int32_t(v));
    } catch (const std::exception&) {
      fail("[logits] --ids: '{}' is not a token id", tok);
    }
  }
  return ids;
}

void run_logits(const LogitsOpts& o) {
  const model::Model m = model::Model::load(o.model);
  std::vector<int32_t> ids;
  if (!o.ids.empty()) {
    ids = parse_ids(o.ids);
  } else {
    if (!m.gguf()) fail("[logits] -p needs a GGUF model (its vocabulary); use --ids for a llama2.c .bin");
    const tok::Tokenizer t = tok::Tokenizer::from_gguf(*m.gguf());
    for (tok::TokenId id : t.encode(o.prompt)) ids.push_back(int32_t(id));
  }
  if (ids.empty()) fail("[logits] no tokens to run");
  model::KvCache kv = m.make_cache({.n_seq = 1,
                                    .n_ctx = std::min(m.n_ctx(), int(ids.size())),
                                    .type = o.f32_cache ? model::KvType::f32 : model::KvType::f16});
  const std::vector<float> logits = m.prefill(ids, kv, 0, /*all_logits=*/true, o.chunk);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(o.out.c_str(), "wb"), std::fclose);
  if (!f) fail("[logits] cannot write '{}'", o.out);
  if (std::fwrite(logits.data(), sizeof(float), logits.size(), f.get()) != logits.size())
    fail("[logits] short write to '{}'", o.out);
  std::fprintf(stderr, "%zu tokens x %d vocab -> %s\n", ids.size(), m.n_vocab(), o.out.c_str());
}

}  // namespace

void register_logits(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "write float32 logits [n_tokens, n_vocab] for every position");
  auto o = std::make_shared<LogitsOpts>();
  cmd->add_option("-m,--model", o->model, "GGUF or llama2.c .bin model")->required();
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "prompt text (tokenised with the model's vocabulary)");
  auto* ids = cmd->add_option("--ids", o->ids, "space-separated token ids instead of a prompt");
  p->excludes(ids);
  cmd->add_option("-o,--output", o->out, "output file (raw little-endian float32)")->required();
  cmd->add_flag("--f32-cache", o->f32_cache, "keep the KV cache in float32 (default float16)");
  cmd->add_option("--chunk", o->chunk, "prefill chunk size")->check(CLI::PositiveNumber);
  cmd->callback([o, p, ids] {
    if (p->count() == 0 && ids->count() == 0) fail("[logits] give -p TEXT or --ids \"1 2 3\"");
    run_logits(*o);
  });
}

}  // namespace slm::cli
