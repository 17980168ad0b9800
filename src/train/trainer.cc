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

constexpr uint64_t kMagic = 0x31544b43'4d4c53ull;  // "SLMCKT1"

void put(std::ofstream& f, const void* p, size_t n) { f.write(static_cast<const char*>(p), std::streamsize(n)); }
void get(std::ifstream& f, void* p, size_t n, const std::string& path) {
  f.read(static_cast<char*>(p), std::streamsize(n));
  if (!f) fail("[train] checkpoint '{}' is truncated", path);
}
void put_vec(std::ofstream& f, const std::vector<float>& v) {
  const uint64_t n = v.size();
  put(f, &n, 8), put(f, v.data(), n * 4);
}
void get_vec(std::ifstream& f, std::vector<float>& v, const std::string& path) {
  uint64_t n = 0;
  get(f, &n, 8, path);
  if (n != v.size()) fail("[train] checkpoint '{}' does not match this model ({} vs {} values)", path, n, v.size());
  get(f, v.data(), n * 4, path);
}

}  // namespace

void save_checkpoint(const std::string& path, int step, Net<float>& net, AdamW& opt) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    const auto params = net.trainable();
    const int64_t t = opt.steps();
    const uint64_t n = params.size(), has_m = opt.m().size() == params.size();
    put(f, &kMagic, 8), put(f, &step, 4), put(f, &t, 8), put(f, &n, 8), put(f, &has_m, 8);
    for (size_t i = 0; i < params.size(); ++i) {
      put_vec(f, params[i]->w);
      if (has_m) put_vec(f, opt.m()[i]), put_vec(f, opt.v()[i]);
    }
    f.flush();
    if (!f) fail("[train] cannot write checkpoint '{}'", tmp);
  }
  std::filesystem::rename(tmp, path);
}

int load_checkpoint(const std::string& path, Net<float>& net, AdamW& opt) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("[train] cannot open checkpoint '{}'", path);
  uint64_t magic = 0, n = 0, has_m = 0;
  int step = 0;
  int64_t t = 0;
  get(f, &magic, 8, path);
  if (magic != kMagic) fail("[train] '{}' is not a checkpoint", path);
  get(f, &step, 4, path), get(f, &t, 8, path), get(f, &n, 8, path), get(f, &has_m, 8, path);
  const auto params = net.trainable();
  if (n != params.size()) fail("[train] checkpoint '{}' holds {} tensors, the model trains {}", path, n, params.size());
  opt.m().resize(has_m ? n : 0), opt.v().resize(has_m ? n : 0);
  for (size_t i = 0; i < params.size(); ++i) {
    get_vec(f, params[i]->w, path);
    if (has_m) {
      opt.m()[i].resize(params[i]->w.size()), opt.v()[i].resize(params[i]->w.size());
      get_vec(f, opt.m()[i], path), get_vec(f, opt.v()[i], path);
    }
  }
  opt.set_steps(t);
  return step;
}

double evaluate(Net<float>& net, const Dataset& data) {
  double loss = 0, count = 0;
  for (const Sequence& s : data.seqs) {
    loss += net.loss_and_backward(s, 0.0, 0, false);
    for (float w : s.weights) count += w;
  }
  return count > 0 ? loss / count : 0.0;
}

TrainResult train(Net<float>& net, const Dataset& data, const Dataset* eval_data, const TrainOptions& opt) {
  if (data.seqs.empty()) fail("[train] the training data holds no usable sequences");
  if (opt.steps < 1 || opt.batch < 1) fail("[train] steps and batch must be positive");
  const auto params = net.trainable();
  if (params.empty()) fail("[train] nothing to train (no trainable tensors)");
  AdamW adam(opt.adamw);
  TrainResult res;
  const std::string ckpt = opt.out_dir.empty() ? "" : opt.out_dir + "/checkpoint.bin";
  int start = 0;
  if (opt.resume && !ckpt.empty() && std::filesystem::exists(ckpt)) start = load_checkpoint(ckpt, net, adam);
  std::ofstream metrics;
  if (!opt.out_dir.empty()) {
    std::filesystem::create_directories(opt.out_dir);
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
    double loss = 0;
    for (size_t b = 0; b < batch.size(); ++b) {
      loss += net.loss_and_backward(*batch[b], count > 0 ? 1.0 / count : 0.0,
                                    opt.seed * 1000003ull + uint64_t(step) * 131ull + b);
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
