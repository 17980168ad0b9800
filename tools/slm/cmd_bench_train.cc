// `slm bench train`: training throughput (tokens/s) for full training of a ~10M-parameter llama and for LoRA
// and qlora (Q4_0 base) on a SmolLM2-135M-shaped model, on random weights and random tokens.
#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "model/synth.h"
#include "train/trainer.h"

namespace slm::cli {
namespace {

struct BenchTrainFlags {
  int threads = 2, seq_len = 128, steps = 3, rank = 16;
  std::string which = "all";
};

model::ModelConfig small_10m() {  // ~9.5M parameters
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 8192, c.n_ctx = 512, c.dim = 256, c.n_layer = 6, c.n_head = 8, c.n_head_kv = 4, c.head_dim = 32;
  c.ffn_dim = 768, c.rope_dim = 32;
  return c;
}

model::ModelConfig from_shape(const std::string& name) {
  const auto s = synth_shape(name);
  if (!s) fail("[bench] unknown shape '{}'", name);
  model::ModelConfig c;
  c.arch = s->arch;
  c.n_vocab = int(s->vocab), c.n_ctx = int(s->context), c.dim = int(s->hidden), c.n_layer = int(s->layers);
  c.n_head = int(s->heads), c.n_head_kv = int(s->kv_heads), c.head_dim = c.dim / c.n_head;
  c.ffn_dim = int(s->ffn), c.rope_dim = c.head_dim, c.rope_theta = float(s->rope_theta);
  c.tied_embeddings = true;
  return c;
}

// qlora: the LoRA run with the frozen base stored as Q4_0 (dequantised tile by tile in the matmuls).
void bench_one(const char* label, const model::ModelConfig& cfg, int rank, const BenchTrainFlags& f,
               bool qlora = false) {
  train::Net<float> net = train::Net<float>::random(cfg, 1, 0.02f);
  if (rank > 0) net.add_lora({.rank = rank, .alpha = float(2 * rank)}, 2);
  else net.set_full_trainable();
  if (qlora) net.quantise_base(DType::Q4_0);
  ThreadPool pool(f.threads);
  net.set_pool(&pool);
  size_t n_params = 0, n_train = 0;
  for (train::Tensor<float>* t : net.tensors()) n_params += size_t(t->size()), n_train += t->trainable ? t->w.size() : 0;
  train::Dataset d;
  Rng rng(3);
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> ids(size_t(f.seq_len) + 1);
    for (int32_t& id : ids) id = int32_t(rng.below(uint64_t(cfg.n_vocab)));
    d.seqs.push_back(train::make_sequence(ids, std::vector<float>(ids.size(), 1.0f)));
  }
  train::TrainOptions o;
  o.steps = f.steps, o.batch = 1, o.schedule = {.lr = 1e-4f, .total = f.steps};
  const auto t0 = std::chrono::steady_clock::now();
  train::train(net, d, nullptr, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%-28s params %7.2fM trainable %7.3fM  seq %d  %d threads  %8.1f tokens/s  (%.2f s/step)  "
              "weights %.0f MiB\n",
              label, double(n_params) / 1e6, double(n_train) / 1e6, f.seq_len, f.threads,
              double(f.steps) * f.seq_len / s, s / f.steps, double(net.weight_bytes()) / 1048576.0);
}

}  // namespace

void register_bench_train(CLI::App& app) {
  auto f = std::make_shared<BenchTrainFlags>();
  CLI::App* cmd = bench_group(app)->add_subcommand("train", "Training speed (tokens/s): full ~10M and LoRA on SmolLM2-135M");
  cmd->add_option("-t,--threads", f->threads, "threads");
  cmd->add_option("--seq-len", f->seq_len, "tokens per sequence");
  cmd->add_option("--steps", f->steps, "optimiser steps timed (one sequence each)");
  cmd->add_option("--rank", f->rank, "LoRA rank");
  cmd->add_option("--which", f->which, "all | full | lora | qlora");
  cmd->callback([f] {
    if (f->which == "all" || f->which == "full") bench_one("full, llama ~10M", small_10m(), 0, *f);
    if (f->which == "all" || f->which == "lora")
      bench_one(fmt::format("lora r={}, smollm2-135m", f->rank).c_str(), from_shape("smollm2-135m"), f->rank, *f);
    if (f->which == "all" || f->which == "qlora")
      bench_one(fmt::format("qlora q4_0 r={}, smollm2-135m", f->rank).c_str(), from_shape("smollm2-135m"), f->rank,
                *f, true);
  });
}

}  // namespace slm::cli
