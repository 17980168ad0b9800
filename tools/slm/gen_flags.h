// Flags shared by `slm run` and `slm chat`: model, tokenizer, context, KV type and the sampling chain.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/model.h"
#include "runtime/generate.h"
#include "runtime/sampling.h"

namespace slm::cli {

struct GenFlags {
  std::string model, tokenizer, kv_type = "f16";
  int n_ctx = 0;
  float temp = 0.8f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f, presence = 0.0f, frequency = 0.0f;
  int top_k = 40, repeat_last_n = 64;
  int64_t seed = -1;  // < 0: a random seed, reported
  std::vector<std::string> stops;
  bool ignore_eos = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("-m,--model", model, "GGUF model or llama2.c .bin checkpoint")->required();
    cmd->add_option("--tokenizer", tokenizer, "vocabulary for a .bin checkpoint (llama2.c tokenizer.bin, ...)");
    cmd->add_option("-c,--ctx", n_ctx, "context length (0 = the model's, at most 4096)");
    cmd->add_option("--kv-type", kv_type, "KV cache type: f16 or f32")->check(CLI::IsMember({"f16", "f32"}));
    cmd->add_option("--temp", temp, "temperature (0 = greedy)");
    cmd->add_option("--top-k", top_k, "keep the k most likely tokens (0 = off)");
    cmd->add_option("--top-p", top_p, "nucleus mass (1 = off)");
    cmd->add_option("--min-p", min_p, "drop tokens below min-p times the best probability (0 = off)");
    cmd->add_option("--repeat-penalty", repeat_penalty, "repetition penalty (1 = off)");
    cmd->add_option("--repeat-last-n", repeat_last_n, "window of recent tokens the penalties see");
    cmd->add_option("--presence-penalty", presence, "subtracted once from every recent token's logit");
    cmd->add_option("--frequency-penalty", frequency, "subtracted per occurrence of a recent token");
    cmd->add_option("--seed", seed, "random seed (default: random)");
    cmd->add_option("--stop", stops, "stop string (repeatable); not printed");
    cmd->add_flag("--ignore-eos", ignore_eos, "keep going past end-of-generation tokens");
  }

  uint64_t resolved_seed() {
    if (seed < 0) seed = int64_t(std::random_device{}() & 0x7fffffff);
    return uint64_t(seed);
  }

  runtime::SamplingParams sampling() {
    runtime::SamplingParams p;
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repeat_penalty = repeat_penalty;
    p.presence_penalty = presence;
    p.frequency_penalty = frequency;
    p.penalty_last_n = repeat_last_n;
    p.seed = resolved_seed();
    return p;
  }

  runtime::GeneratorOptions generator(const model::Model& m, int n_seq = 1) const {
    if (n_ctx < 0) fail("[cli] context length must be >= 0, got {}", n_ctx);
    runtime::GeneratorOptions o;
    o.n_seq = n_seq;
    o.n_ctx = n_ctx > 0 ? n_ctx : std::min(m.n_ctx(), 4096);
    o.kv_type = kv_type == "f32" ? model::KvType::f32 : model::KvType::f16;
    return o;
  }
};

}  // namespace slm::cli
