// The training loop: batches of sequences with gradient accumulation, AdamW with warm-up + cosine, clipping,
// held-out evaluation every N steps, metrics as JSONL, atomic checkpoints and bit-exact resume.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "train/data.h"
#include "train/distill.h"
#include "train/net.h"
#include "train/optim.h"

namespace slm::train {

struct TrainOptions {
  int steps = 100;             // optimiser steps
  int batch = 4;               // sequences per step (gradients accumulated, then averaged per loss token)
  Schedule schedule;
  AdamWConfig adamw;
  double clip = 1.0;
  uint64_t seed = 1;           // data order and LoRA dropout
  int eval_every = 0;          // 0: evaluate only at the end (when eval data is given)
  int checkpoint_every = 0;    // 0: no checkpoints; else out_dir/checkpoint.bin every N steps
  std::string out_dir;         // metrics.jsonl and checkpoint.bin go here
  bool resume = false;         // continue from out_dir/checkpoint.bin when it exists
  bool progress = false;       // a progress line on stderr
  const Teacher* teacher = nullptr;  // distillation: the loss mixes KL to the teacher with cross-entropy
};

struct TrainResult {
  int steps_done = 0;
  double last_loss = 0, last_eval = -1;
  double tokens_per_s = 0;
};

// Mean loss per loss-carrying token over `data` (no gradients).
double evaluate(Net<float>& net, const Dataset& data);
// Mean KL(teacher || student) per loss-carrying token at the teacher's temperature (no gradients).
double evaluate_kl(Net<float>& net, const Dataset& data, const Teacher& teacher);

TrainResult train(Net<float>& net, const Dataset& train_data, const Dataset* eval_data, const TrainOptions& opt);

// Checkpoint: step, trainable tensors and optimiser moments; written atomically (write_file_atomic).
void save_checkpoint(const std::string& path, int step, Net<float>& net, AdamW& opt);
int load_checkpoint(const std::string& path, Net<float>& net, AdamW& opt);  // returns the step

// Writes path.tmp, fsyncs it, renames it over path and fsyncs the folder.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace slm::train
