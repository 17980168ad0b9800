// The demo's steps and what they share: the plan (sizes for the full and the quick run), the step cache
// (a stamp per step: hash of parameters and upstream stamps, the outputs it wrote and its result JSON) and
// progress lines. Internal to src/app.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/demo.h"
#include "model/synth.h"

namespace slm::app {

using nlohmann::json;

struct DemoPlan {
  bool quick = false;
  std::string node_modules;
  SynthShape shape;           // the base model (vocab = the tokenizer's size)
  int vocab = 0;              // BPE vocabulary size
  size_t brown_bytes = 0;     // Brown corpus text used (0 = all)
  int pretrain_steps = 0, pretrain_batch = 0, seq_len = 0;
  float pretrain_lr = 0;
  float init_stddev = 0;      // of the random initial weights (embeddings large enough for confident logits)
  int lora_rank = 0, lora_steps = 0, lora_batch = 0;
  float lora_lr = 0;
  int prompt_tokens = 0;      // a rendered prompt is cut to fit this many tokens (body truncated)
  size_t eval_limit = 0;      // held-out mails in the main evaluation (0 = all)
  size_t gate_limit = 0;      // held-out mails in the quantisation gate and the served run
  int threads = 0;
  json params() const;        // everything above, for the stamps
};
DemoPlan make_plan(const DemoOptions& opt);

struct StepRecord {
  std::string name, title;
  bool cached = false;
  double seconds = 0;         // this run (cached: time to check the stamp)
  double ran_seconds = 0;     // when the step last really ran
  json result;
  std::string key;
};

// Runs step functions or answers from their stamps (workdir/<name>/stamp.json).
class StepCache {
 public:
  StepCache(std::string workdir, bool force, int n_steps);
  // fn(dir) does the work in workdir/<name>, returns its result and lists its output files (relative to
  // dir) in result["outputs"]. The key hashes `params` and the keys of `deps` (earlier step names).
  const StepRecord& run(const std::string& name, const std::string& title, const json& params,
                        const std::vector<std::string>& deps, const std::function<json(const std::string& dir)>& fn);
  const StepRecord& get(const std::string& name) const;
  const std::vector<StepRecord>& records() const { return records_; }
  std::string dir(const std::string& name) const;
  double elapsed() const;

 private:
  std::string workdir_;
  bool force_;
  int n_steps_;
  std::vector<StepRecord> records_;
  std::chrono::steady_clock::time_point t0_;
};

// Progress for loops: "\r  label 120/1083  14 s, ETA 112 s" on stderr, at most a few times a second.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  void update(size_t done, size_t total);
  const std::string& label() const { return label_; }

 private:
  std::string label_;
  std::chrono::steady_clock::time_point t0_, last_;
};

// The steps (demo_data.cc, demo_model.cc, demo_eval.cc, demo_serve.cc).
json step_data(const DemoPlan& p, const std::string& dir);                    // mails -> train/eval JSONL
json step_base_model(const DemoPlan& p, const std::string& dir);              // BPE + pretraining
json step_finetune(const DemoPlan& p, const std::string& data_dir, const std::string& model_dir,
                   const std::string& dir);                                   // task files, LoRA, merge
json step_eval(const DemoPlan& p, const std::string& model_dir, const std::string& ft_dir, const std::string& dir);
json step_quantise(const DemoPlan& p, const std::string& ft_dir, const std::string& dir);
json step_serve(const DemoPlan& p, const std::string& ft_dir, const json& quant, const std::string& dir);

// Shared helpers.
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);
uint64_t hash_file(const std::string& path);

}  // namespace slm::app
