// `slm train`: full fine-tuning / pretraining from a shape, or LoRA, on CPU; writes PEFT + GGUF adapters or a
// GGUF model, metrics.jsonl and checkpoints to the output directory.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/model.h"
#include "model/synth.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/export.h"
#include "train/trainer.h"

namespace slm::cli {
namespace {

struct TrainFlags {
  std::string mode = "lora", model, config, data, eval_data, out, targets = "q,k,v,o,gate,up,down";
  int rank = 8, steps = 0, batch = 4, seq_len = 256, warmup = 0, eval_every = 0, ckpt_every = 0, threads = 0;
  float alpha = 16, dropout = 0, lr = 1e-4f, wd = 0, epochs = 0;
  double clip = 1.0;
  uint64_t seed = 1;
  bool resume = false, strict = false, pack = false, quiet = false;
};

train::LoraConfig lora_config(const TrainFlags& f) {
  train::LoraConfig lc{.rank = f.rank, .alpha = f.alpha, .dropout = f.dropout};
  lc.targets.fill(false);
  std::stringstream ss(f.targets);
  for (std::string t; std::getline(ss, t, ',');) {
    const int i = train::target_from_name(t);
    if (i < 0) fail("[train] unknown target module '{}' (q,k,v,o,gate,up,down)", t);
    lc.targets[size_t(i)] = true;
  }
  return lc;
}

void run_train(const TrainFlags& f) {
  if (f.mode != "full" && f.mode != "lora")
    fail("[train] --mode {} is not supported (full or lora)", f.mode);
  if (f.model.empty() == f.config.empty()) fail("[train] give exactly one of -m BASE.gguf or --config SHAPE");
  std::filesystem::create_directories(f.out);
  std::string base = f.model;
  if (!f.config.empty()) {  // from scratch: a random model of a named shape, trained in full
    if (f.mode != "full") fail("[train] --config trains a model from scratch and needs --mode full");
    const auto shape = synth_shape(f.config);
    if (!shape) fail("[train] unknown shape '{}'", f.config);
    base = f.out + "/init.gguf";
    write_synth_model(*shape, SynthOptions{.type = DType::F32, .seed = f.seed}, base);
  }
  const model::Model m = model::Model::load(base);
  if (!m.gguf()) fail("[train] '{}' has no GGUF tokenizer metadata", base);
  const tok::Tokenizer tok = tok::Tokenizer::from_gguf(*m.gguf());
  std::optional<ChatTemplate> chat;
  if (m.gguf()->find("tokenizer.chat_template")) chat = ChatTemplate::from_gguf(*m.gguf());
  const train::DataOptions dopt{.seq_len = f.seq_len, .strict = f.strict, .pack = f.pack,
                                .chat = chat ? &*chat : nullptr};
  const train::Dataset data = train::load_data(f.data, tok, dopt);
  std::optional<train::Dataset> eval;
  if (!f.eval_data.empty()) eval = train::load_data(f.eval_data, tok, dopt);
  for (const train::Dataset* d : {&data, eval ? &*eval : static_cast<const train::Dataset*>(nullptr)})
    if (d)
      for (const std::string& p : d->problems) std::fprintf(stderr, "slm train: %s\n", p.c_str());
  std::fprintf(stderr, "slm train: %zu sequences (%zu tokens, %zu with loss), %zu records skipped\n",
               data.seqs.size(), data.n_tokens(), data.n_loss_tokens(), data.n_skipped);

  train::Net<float> net = train::Net<float>::from_model(m);
  if (f.mode == "full") net.set_full_trainable();
  else net.add_lora(lora_config(f), f.seed);
  ThreadPool pool(f.threads > 0 ? f.threads : default_threads());
  net.set_pool(&pool);

  train::TrainOptions opt;
  opt.batch = f.batch;
  opt.steps = f.steps > 0 ? f.steps
                          : std::max(1, int((f.epochs > 0 ? f.epochs : 1.0f) * float(data.seqs.size()) / float(f.batch)));
  opt.schedule = {.lr = f.lr, .warmup = f.warmup, .total = opt.steps};
  opt.adamw.weight_decay = f.wd;
  opt.clip = f.clip, opt.seed = f.seed, opt.eval_every = f.eval_every, opt.checkpoint_every = f.ckpt_every;
  opt.out_dir = f.out, opt.resume = f.resume, opt.progress = !f.quiet;
  const train::TrainResult r = train::train(net, data, eval ? &*eval : nullptr, opt);
  if (f.mode == "lora") {
    train::write_peft_adapter(net, f.out, std::filesystem::path(base).filename().string());
    train::write_gguf_adapter(net, f.out + "/adapter.gguf");
  } else {
    train::write_gguf_model(net, m.gguf(), f.out + "/model.gguf");
  }
  std::printf("trained %d steps: loss %.4f%s, %.0f tokens/s; wrote %s\n", r.steps_done, r.last_loss,
              r.last_eval >= 0 ? fmt::format(", eval loss {:.4f}", r.last_eval).c_str() : "", r.tokens_per_s,
              f.out.c_str());
}

}  // namespace

void register_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "fine-tune (full or LoRA) or pretrain a model on CPU");
  auto f = std::make_shared<TrainFlags>();
  cmd->add_option("--mode", f->mode, "full | lora");
  cmd->add_option("-m,--model", f->model, "base model (GGUF)");
  cmd->add_option("--config", f->config, "shape to pretrain from scratch (see synth-model), with --mode full");
  cmd->add_option("--data", f->data, "training data: .jsonl records or plain text")->required();
  cmd->add_option("--eval-data", f->eval_data, "held-out data");
  cmd->add_option("-o,--output", f->out, "output directory")->required();
  cmd->add_option("--rank", f->rank, "LoRA rank");
  cmd->add_option("--alpha", f->alpha, "LoRA alpha");
  cmd->add_option("--dropout", f->dropout, "LoRA dropout");
  cmd->add_option("--targets", f->targets, "LoRA target modules, comma-separated");
  cmd->add_option("--steps", f->steps, "optimiser steps");
  cmd->add_option("--epochs", f->epochs, "epochs (when --steps is not given)");
  cmd->add_option("--batch", f->batch, "sequences per step (gradient accumulation)");
  cmd->add_option("--seq-len", f->seq_len, "tokens per sequence");
  cmd->add_option("--lr", f->lr, "peak learning rate");
  cmd->add_option("--warmup", f->warmup, "warm-up steps");
  cmd->add_option("--weight-decay", f->wd, "AdamW weight decay");
  cmd->add_option("--clip", f->clip, "gradient clipping (global norm, 0 = off)");
  cmd->add_option("--seed", f->seed, "seed (data order, init, dropout)");
  cmd->add_option("--eval-every", f->eval_every, "evaluate the held-out split every N steps");
  cmd->add_option("--checkpoint-every", f->ckpt_every, "write OUT/checkpoint.bin every N steps");
  cmd->add_flag("--resume", f->resume, "continue from OUT/checkpoint.bin");
  cmd->add_option("-t,--threads", f->threads, "threads");
  cmd->add_flag("--strict", f->strict, "a bad record is fatal (default: reported and skipped)");
  cmd->add_flag("--pack", f->pack, "pack records into full sequences");
  cmd->add_flag("-q,--quiet", f->quiet, "no progress bar");
  cmd->callback([f] { run_train(*f); });
}

}  // namespace slm::cli
