// `slm train`: full fine-tuning / pretraining from a shape, LoRA, qlora (quantised frozen base) or
// distillation from a teacher, on CPU; writes PEFT + GGUF adapters or a GGUF model, metrics.jsonl, loss.svg
// and checkpoints to the output directory.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <filesystem>
#include <memory>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/model.h"
#include "model/synth.h"
#include "convert/hf_vocab.h"
#include "quant/quant.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/distill.h"
#include "train/export.h"
#include "train/plot.h"
#include "train/trainer.h"

namespace slm::cli {
namespace {

struct TrainFlags {
  std::string mode = "lora", qlora_type = "q4_0", teacher, model, config, data, eval_data, out, targets = "q,k,v,o,gate,up,down";
  std::string vocab;  // with --config: GGUF whose tokenizer.* metadata the new model takes
  int rank = 8, steps = 0, batch = 4, seq_len = 256, warmup = 0, eval_every = 0, ckpt_every = 0, threads = 0;
  float alpha = 16, dropout = 0, lr = 1e-4f, wd = 0, epochs = 0;
  double clip = 1.0;
  uint64_t seed = 1;
  bool resume = false, strict = false, pack = false, quiet = false, plot = false, checkpointing = false;
  bool rank_given = false;  // distill: LoRA on the student instead of its full weights
  train::DistillConfig distill;
};

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

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

// Stores the float matrices of a qlora base in `type_name` and prints the bytes held against plain LoRA.
void report_qlora_base(train::Net<float>& net, const std::string& type_name) {
  std::optional<DType> type;
  for (DType t : {DType::Q4_0, DType::Q4_K, DType::Q8_0, DType::Q5_0, DType::Q6_K})
    if (quant::type_name(t) == upper(type_name)) type = t;
  if (!type) fail("[train] --qlora-type {}: use q4_0, q4_k, q8_0, q5_0 or q6_k", type_name);
  int kept = 0;
  for (train::Tensor<float>* t : net.tensors()) kept += t->quantised();
  const int n = net.quantise_base(*type);
  size_t as_float = 0;
  for (train::Tensor<float>* t : net.tensors())
    as_float += t->quantised() ? size_t(t->size()) * sizeof(float) : t->bytes();
  std::fprintf(stderr,
               "slm train: qlora base: %d matrices kept in their stored type, %d float ones quantised to %s; "
               "weights %.1f MiB (LoRA over a float base: %.1f MiB)\n",
               kept, n, type_name.c_str(), double(net.weight_bytes()) / 1048576.0, double(as_float) / 1048576.0);
}

// A vocabulary for a model from scratch: a GGUF with tokenizer.* metadata, or a Hugging Face tokenizer.json
// (tokenizer_config.json beside it is read when present), converted to OUT/vocab.gguf.
gguf::File open_vocab(const std::string& path, const std::string& out) {
  if (!path.ends_with(".json")) return gguf::File::open(path);
  convert::HfVocabInput in;
  in.tokenizer = convert::read_json_file(path, true);
  in.tokenizer_config =
      convert::read_json_file((std::filesystem::path(path).parent_path() / "tokenizer_config.json").string(), false);
  const std::string g = out + "/vocab.gguf";
  auto write = [&](const std::string& pre) {
    in.pre = pre;
    gguf::Writer w;
    for (gguf::KeyValue& kv : convert::vocab_from_hf(in)) w.add_kv(std::move(kv.key), std::move(kv.value));
    w.write(g);
    return gguf::File::open(g);
  };
  try {
    return write("");  // the pre-tokenizer of a published tokenizer is recognised by its regexes
  } catch (const Error& e) {
    // Not a published pre-tokenizer (e.g. `slm tokenizer train`'s): take the first byte-level name under
    // which the GGUF tokenizer encodes a probe text exactly as the tokenizer.json does.
    const tok::Tokenizer want = tok::Tokenizer::from_hf_file(path);
    const std::string probe = "Hello, world! It's 2024: they'll say \"3.14\"  twice\n\tok? caf\u00e9 don't";
    for (const char* pre : {"gpt-2", "llama-bpe", "qwen2", "smollm"}) {
      try {
        gguf::File f = write(pre);
        if (tok::Tokenizer::from_gguf(f).encode(probe) == want.encode(probe)) return f;
      } catch (const Error&) {
      }
    }
    fail("{} (a GGUF vocabulary, such as the vocab.gguf that `slm tokenizer train` writes, avoids the conversion)",
         e.what());
  }
}

// Peak resident set of this process (VmHWM), 0 when /proc is not there.
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void run_train(const TrainFlags& f) {
  if (f.mode != "full" && f.mode != "lora" && f.mode != "qlora" && f.mode != "distill")
    fail("[train] --mode {} is not supported (full, lora, qlora or distill)", f.mode);
  if (f.data.empty()) fail("[train] --data is required (or --plot to draw an earlier run's curves)");
  if ((f.mode == "distill") != !f.teacher.empty()) fail("[train] --teacher T.gguf goes with --mode distill");
  // distill trains the student in full, or its LoRA adapters when --rank is given.
  const bool full = f.mode == "full" || (f.mode == "distill" && !f.rank_given);
  std::optional<model::Model> teacher_model;
  if (!f.teacher.empty()) teacher_model = model::Model::load(f.teacher);
  if (f.model.empty() == f.config.empty()) fail("[train] give exactly one of -m BASE.gguf or --config SHAPE");
  if (!f.vocab.empty() && f.config.empty()) fail("[train] --vocab goes with --config (a model from scratch)");
  std::filesystem::create_directories(f.out);
  std::string base = f.model;
  if (!f.config.empty()) {  // from scratch: a random model of a named shape, trained in full
    if (!full) fail("[train] --config trains a model from scratch and needs --mode full (or distill without --rank)");
    const auto shape = synth_shape(f.config);
    if (!shape) fail("[train] unknown shape '{}'", f.config);
    base = f.out + "/init.gguf";
    std::optional<gguf::File> vocab;
    if (!f.vocab.empty()) vocab = open_vocab(f.vocab, f.out);
    else if (teacher_model && teacher_model->gguf()) vocab = gguf::File::open(f.teacher);  // the teacher's tokens
    write_synth_model(*shape, SynthOptions{.type = DType::F32, .seed = f.seed, .vocab = vocab ? &*vocab : nullptr},
                      base);
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

  train::Net<float> net = train::Net<float>::from_model(m, f.mode == "qlora");
  net.set_checkpointing(f.checkpointing);
  if (full) net.set_full_trainable();
  else net.add_lora(lora_config(f), f.seed);
  if (f.mode == "qlora") report_qlora_base(net, f.qlora_type);
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
  std::optional<train::Teacher> teacher;
  if (teacher_model) teacher.emplace(*teacher_model, f.distill), opt.teacher = &*teacher;
  const train::TrainResult r = train::train(net, data, eval ? &*eval : nullptr, opt);
  train::write_loss_plot(f.out + "/metrics.jsonl", f.out + "/loss.svg");
  if (!full) {
    train::write_peft_adapter(net, f.out, std::filesystem::path(base).filename().string());
    train::write_gguf_adapter(net, f.out + "/adapter.gguf");
  } else {
    train::write_gguf_model(net, m.gguf(), f.out + "/model.gguf");
  }
  std::printf("trained %d steps: loss %.4f%s, %.0f tokens/s, peak RSS %.0f MiB; wrote %s\n", r.steps_done,
              r.last_loss, r.last_eval >= 0 ? fmt::format(", eval loss {:.4f}", r.last_eval).c_str() : "",
              r.tokens_per_s, peak_rss_mib(), f.out.c_str());
}

}  // namespace

void register_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "fine-tune (full, LoRA, qlora), distill or pretrain a model on CPU");
  cmd->footer(
      "Examples:\n"
      "  slm train --mode lora -m base.gguf --data train.jsonl --eval-data eval.jsonl --rank 16 --epochs 3 -o out\n"
      "  slm train --mode qlora --qlora-type q4_0 -m base.gguf --data train.jsonl -o out\n"
      "  slm train --mode full --config demo --vocab tok/vocab.gguf --data corpus.txt --pack --steps 2000 -o out\n"
      "  slm train --mode distill --teacher big.gguf --config tiny --data corpus.txt --distill-alpha 0.5 -o out\n"
      "  slm train --plot -o out\n"
      "Writes to OUT: metrics.jsonl, loss.svg, checkpoint.bin (--checkpoint-every), and adapter_config.json +\n"
      "adapter_model.safetensors + adapter.gguf (lora, qlora, distill with --rank) or model.gguf (full, distill).\n"
      "Distill trains the student's full weights, or LoRA adapters when --rank is given; with --config the\n"
      "student takes the teacher's vocabulary unless --vocab names one. --resume continues from\n"
      "OUT/checkpoint.bin to the same result as an uninterrupted run (bit-identical with -t 1).");
  auto f = std::make_shared<TrainFlags>();
  cmd->add_option("--mode", f->mode,
                  "full | lora | qlora (LoRA over a base kept quantised: matrices stored in F32/F16 are "
                  "quantised to --qlora-type)");
  cmd->add_option("--qlora-type", f->qlora_type, "qlora: type for a float base (q4_0, q4_k, q8_0)");
  cmd->add_option("-m,--model", f->model, "base model (GGUF)");
  cmd->add_option("--config", f->config, "shape to pretrain from scratch (see synth-model), with --mode full");
  cmd->add_option("--vocab", f->vocab, "with --config: vocabulary for the new model: GGUF (e.g. from slm tokenizer train) or tokenizer.json");
  cmd->add_option("--data", f->data, "training data: .jsonl records or plain text (required unless --plot)");
  cmd->add_option("--eval-data", f->eval_data, "held-out data");
  cmd->add_option("-o,--output", f->out, "output directory")->required();
  cmd->add_option("--rank", f->rank, "LoRA rank (with --mode distill: train LoRA adapters, not the full student)");
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
  cmd->add_option("--teacher", f->teacher, "distill: teacher model (GGUF, same vocabulary as the student)");
  cmd->add_option("--distill-alpha", f->distill.alpha,
                  "distill: loss = alpha * T^2 * KL(teacher || student) + (1 - alpha) * cross-entropy");
  cmd->add_option("--distill-temp", f->distill.temperature, "distill: temperature T of both distributions");
  cmd->add_option("--distill-top-k", f->distill.top_k, "distill: teacher tokens kept per position (renormalised)");
  cmd->add_flag("--checkpointing", f->checkpointing,
                "gradient checkpointing: keep only each layer's input, recompute the rest in the backward");
  cmd->add_flag("--plot", f->plot,
                "write OUT/loss.svg from OUT/metrics.jsonl and exit (every run also writes it at the end)");
  cmd->callback([f, cmd] {
    f->rank_given = cmd->count("--rank") > 0;
    if (f->plot) {
      train::write_loss_plot(f->out + "/metrics.jsonl", f->out + "/loss.svg");
      std::printf("wrote %s/loss.svg\n", f->out.c_str());
      return;
    }
    run_train(*f);
  });
}

}  // namespace slm::cli
