// The training loop and checkpoints.
#include "train/trainer.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace slm::train {
namespace {

// On resume, metrics.jsonl keeps the records up to the checkpoint's step (a killed run may have logged
// steps after it, which the resumed run logs again).
void truncate_metrics(const std::string& path, int step) {
  std::ifstream in(path);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("step") && j["step"].is_number() && j["step"].get<int>() <= step)
      kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace

double evaluate(Net<float>& net, const Dataset& data) {
  double loss = 0, count = 0;
  for (const Sequence& s : data.seqs) {
    loss += net.loss_and_backward(s, 0.0, 0, false);
    for (float w : s.weights) count += w;
  }
  return count > 0 ? loss / count : 0.0;
}

double evaluate_kl(Net<float>& net, const Dataset& data, const Teacher& teacher) {
  double kl = 0, count = 0;
  for (const Sequence& s : data.seqs) {
    const TeacherTargets tt = teacher.targets(s.tokens);
    net.loss_and_backward(s, 0.0, 0, false, &tt, &teacher.config());
    kl += net.last_kl();
    for (float w : s.weights) count += w;
  }
  return count > 0 ? kl / count : 0.0;
}

TrainResult train(Net<float>& net, const Dataset& data, const Dataset* eval_data, const TrainOptions& opt) {
  if (data.seqs.empty()) fail("[train] the training data holds no usable sequences");
  if (opt.steps < 1 || opt.batch < 1) fail("[train] steps and batch must be positive");
  const auto params = net.trainable();
  if (params.empty()) fail("[train] nothing to train (no trainable tensors)");
  if (opt.teacher && opt.teacher->n_vocab() != net.config().n_vocab)
    fail("[train] the teacher's vocabulary ({} tokens) differs from the student's ({})", opt.teacher->n_vocab(),
         net.config().n_vocab);
  AdamW adam(opt.adamw);
  TrainResult res;
  const std::string ckpt = opt.out_dir.empty() ? "" : opt.out_dir + "/checkpoint.bin";
  int start = 0;
  if (opt.resume && !ckpt.empty() && std::filesystem::exists(ckpt)) start = load_checkpoint(ckpt, net, adam);
  std::ofstream metrics;
  if (!opt.out_dir.empty()) {
    std::filesystem::create_directories(opt.out_dir);
    if (start > 0) truncate_metrics(opt.out_dir + "/metrics.jsonl", start);
    metrics.open(opt.out_dir + "/metrics.jsonl", start > 0 ? std::ios::app : std::ios::trunc);
  }
  const size_t n = data.seqs.size();
  const auto t0 = std::chrono::steady_clock::now();
  size_t tokens = 0;
  for (int step = start; step < opt.steps; ++step) {
    net.zero_grad();
    // Sequences step*batch .. +batch of the stream of seeded epoch permutations.
    std::vector<const Sequence*> batch;
    double count = 0;
    for (int b = 0; b < opt.batch; ++b) {
      const uint64_t idx = uint64_t(step) * uint64_t(opt.batch) + uint64_t(b);
      const auto order = epoch_order(n, opt.seed, idx / n);
      batch.push_back(&data.seqs[order[idx % n]]);
      for (float w : batch.back()->weights) count += w;
    }
    double loss = 0, kl = 0;
    for (size_t b = 0; b < batch.size(); ++b) {
      TeacherTargets tt;
      if (opt.teacher) tt = opt.teacher->targets(batch[b]->tokens);
      loss += net.loss_and_backward(*batch[b], count > 0 ? 1.0 / count : 0.0,
                                    opt.seed * 1000003ull + uint64_t(step) * 131ull + b, true,
                                    opt.teacher ? &tt : nullptr, opt.teacher ? &opt.teacher->config() : nullptr);
      kl += net.last_kl();
      tokens += batch[b]->tokens.size();
    }
    loss = count > 0 ? loss / count : 0.0;
    const double gnorm = clip_grad_norm(params, opt.clip);
    const float lr = opt.schedule.at(step);
    adam.step(params, lr);
    res.last_loss = loss;
    res.steps_done = step + 1;
    const bool last = step + 1 == opt.steps;
    nlohmann::json m = {{"step", step + 1}, {"loss", loss}, {"lr", lr}, {"grad_norm", gnorm}};
    if (opt.teacher) m["kl"] = count > 0 ? kl / count : 0.0;
    if (eval_data && !eval_data->seqs.empty() && (last || (opt.eval_every > 0 && (step + 1) % opt.eval_every == 0))) {
      res.last_eval = evaluate(net, *eval_data);
      m["eval_loss"] = res.last_eval;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.tokens_per_s = secs > 0 ? double(tokens) / secs : 0;
    m["tokens_per_s"] = res.tokens_per_s;
    if (metrics.is_open()) metrics << m.dump() << "\n" << std::flush;
    if (opt.progress) {
      const int done = step + 1 - start, total = opt.steps - start;
      const double eta = secs / done * (total - done);
      const int bar = 30 * (step + 1) / opt.steps;
      std::fprintf(stderr, "\r[%-30s] %d/%d loss %.4f%s tok/s %.0f ETA %.0fs   ", std::string(size_t(bar), '#').c_str(),
                   step + 1, opt.steps, loss,
                   m.contains("eval_loss") ? fmt::format(" eval {:.4f}", res.last_eval).c_str() : "",
                   res.tokens_per_s, eta);
      if (last) std::fprintf(stderr, "\n");
    }
    if (!ckpt.empty() && opt.checkpoint_every > 0 && ((step + 1) % opt.checkpoint_every == 0 || last))
      save_checkpoint(ckpt, step + 1, net, adam);
  }
  return res;
}

}  // namespace slm::train
