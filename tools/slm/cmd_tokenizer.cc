// `slm tokenizer train`: a byte-level BPE tokenizer trained on text or JSONL files, written as
// tokenizer.json + tokenizer_config.json and/or a GGUF vocabulary (for synth-model --vocab, train --vocab).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "tokenizer/bpe_train.h"

namespace slm::cli {
namespace {

struct TrainTokFlags {
  int vocab_size = 0;
  int64_t min_frequency = 2;
  std::string special, pre = "gpt2", format = "both", out, field, bos, eos, pad;
  std::vector<std::string> corpus;
  bool quiet = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');)
    if (!t.empty()) out.push_back(t);
  return out;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  if (!out || !out.write(text.data(), std::streamsize(text.size())) || !out.flush())
    fail("[tokenizer] cannot write '{}'", p.string());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

tok::BpeTrainOptions train_options(const TrainTokFlags& f, const CLI::App& cmd) {
  tok::BpeTrainOptions o;
  o.vocab_size = f.vocab_size;
  o.min_frequency = f.min_frequency;
  o.pre = f.pre;
  if (cmd.count("--special")) o.specials = split_commas(f.special);
  // A role keeps its default token only while that token is among the specials; named roles must be.
  auto role = [&](const char* flag, const std::string& given, std::string& slot) {
    if (cmd.count(flag)) slot = given;
    else if (std::find(o.specials.begin(), o.specials.end(), slot) == o.specials.end()) slot.clear();
  };
  role("--bos", f.bos, o.bos);
  role("--eos", f.eos, o.eos);
  role("--pad", f.pad, o.pad);
  if (!f.quiet)
    o.progress = [](int n, int target) {
      std::fprintf(stderr, "\rslm tokenizer train: merging %d/%d tokens", n, target);
      std::fflush(stderr);
    };
  return o;
}

void run_train_tokenizer(const TrainTokFlags& f, const CLI::App& cmd) {
  if (f.format != "json" && f.format != "gguf" && f.format != "both")
    fail("[tokenizer] --format {} is not supported (json, gguf or both)", f.format);
  for (const std::string& c : f.corpus)
    if (!std::filesystem::is_regular_file(c)) fail("[tokenizer] corpus file '{}' not found", c);
  const auto t0 = std::chrono::steady_clock::now();
  tok::BpeTrainer trainer(train_options(f, cmd));
  for (const std::string& c : f.corpus) trainer.add_file(c, f.field);
  const tok::BpeCorpusStats st = trainer.stats();
  const double t_count = seconds_since(t0);
  if (!f.quiet)
    std::fprintf(stderr, "slm tokenizer train: %zu files, %.1f MB, %llu words (%llu distinct) in %.2f s\n",
                 f.corpus.size(), double(st.bytes) / 1e6, (unsigned long long)st.words,
                 (unsigned long long)st.distinct, t_count);
  const auto t1 = std::chrono::steady_clock::now();
  const tok::BpeVocab v = trainer.train();
  const double t_merge = seconds_since(t1);
  if (!f.quiet) std::fputc('\n', stderr);

  namespace fs = std::filesystem;
  fs::create_directories(f.out);
  std::string wrote;
  if (f.format != "gguf") {
    write_file(fs::path(f.out) / "tokenizer.json", tok::bpe_hf_tokenizer_json(v));
    write_file(fs::path(f.out) / "tokenizer_config.json", tok::bpe_hf_config_json(v));
    wrote += " tokenizer.json tokenizer_config.json";
  }
  if (f.format != "json") {
    tok::bpe_gguf_vocab(v).write((fs::path(f.out) / "vocab.gguf").string());
    wrote += " vocab.gguf";
  }
  if (int(v.tokens.size()) < f.vocab_size)
    std::fprintf(stderr, "slm tokenizer train: note: no pair is seen %lld times or more beyond %zu tokens\n",
                 (long long)f.min_frequency, v.tokens.size());
  std::printf("trained %zu tokens (%d special, 256 byte, %zu merges) from %.1f MB: count %.2f s, merge %.2f s; "
              "wrote%s in %s\n",
              v.tokens.size(), v.n_special, v.merges.size(), double(st.bytes) / 1e6, t_count, t_merge,
              wrote.c_str(), f.out.c_str());
}

}  // namespace

void register_tokenizer(CLI::App& app) {
  CLI::App* group = app.add_subcommand("tokenizer", "Tokenizer tools");
  group->require_subcommand(1);
  auto f = std::make_shared<TrainTokFlags>();
  CLI::App* cmd = group->add_subcommand("train", "Train a byte-level BPE tokenizer on text or JSONL files");
  cmd->add_option("--vocab-size", f->vocab_size, "vocabulary size: special + 256 byte + merged tokens")->required();
  cmd->add_option("--min-frequency", f->min_frequency, "merge only pairs seen at least this often (default 2)");
  cmd->add_option("--special", f->special,
                  "special tokens, comma-separated, ids 0.. in order (default "
                  "<|begin_of_text|>,<|endoftext|>,<|pad|>,<|im_start|>,<|im_end|>)");
  cmd->add_option("--bos", f->bos, "the BOS token (default <|begin_of_text|> when a special; added to every text)");
  cmd->add_option("--eos", f->eos, "the EOS token (default <|endoftext|> when a special)");
  cmd->add_option("--pad", f->pad, "the padding token (default <|pad|> when a special)");
  cmd->add_option("--pre", f->pre, "pre-tokenizer: gpt2 (default), llama3 or qwen2");
  cmd->add_option("--format", f->format, "json (tokenizer.json + tokenizer_config.json), gguf (vocab.gguf) or both");
  cmd->add_option("--field", f->field, "the corpus files are JSONL; train on this string field of each record");
  cmd->add_option("-o,--output", f->out, "output directory")->required();
  cmd->add_option("corpus", f->corpus, "text files (or JSONL with --field)")->required();
  cmd->add_flag("-q,--quiet", f->quiet, "no progress");
  cmd->callback([f, cmd] { run_train_tokenizer(*f, *cmd); });
}

}  // namespace slm::cli
