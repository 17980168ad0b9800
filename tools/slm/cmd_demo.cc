// `slm demo`: the main job on the built-in default. For now: slm writes a small model in every tensor type it
// can quantise, inspects one, and measures what each type costs against the float32 model (weight RMSE,
// logit NMSE, top-1 agreement) by running all of them.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "io/gguf_inspect.h"
#include "model/model.h"
#include "model/synth.h"
#include "quant/quant.h"

namespace slm::cli {
namespace {

struct TypeCost {
  double weight_rmse = 0;  // over every 2-D weight, vs float32
  double logit_nmse = 0;   // over every position's logits, vs the float32 model
  double top1 = 0;         // fraction of positions whose argmax agrees
  double file_mib = 0;
};

std::vector<float> tensor_floats(const gguf::File& f, const gguf::TensorInfo& t) {
  std::vector<float> out(size_t(t.n_elements()));
  quant::dequantize(t.type, f.tensor_data(t).data(), out.data(), t.n_elements());
  return out;
}

double weight_rmse(const gguf::File& base, const gguf::File& q) {
  double se = 0;
  size_t n = 0;
  for (const gguf::TensorInfo& t : base.tensors()) {
    if (t.ne.size() != 2) continue;
    const gguf::TensorInfo* qt = q.find_tensor(t.name);
    if (!qt) fail("[demo] tensor '{}' missing from the quantised model", t.name);
    const std::vector<float> a = tensor_floats(base, t), b = tensor_floats(q, *qt);
    for (size_t i = 0; i < a.size(); ++i) se += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    n += a.size();
  }
  return std::sqrt(se / double(n));
}

std::vector<float> all_logits(const std::string& path, const std::vector<int32_t>& ids) {
  const model::Model m = model::Model::load(path);
  model::KvCache kv = m.make_cache({.n_seq = 1, .n_ctx = int(ids.size()), .type = model::KvType::f32});
  return m.prefill(ids, kv, 0, /*all_logits=*/true);
}

TypeCost compare(const std::vector<float>& ref, const std::vector<float>& got, size_t n_vocab) {
  TypeCost c;
  double num = 0, den = 0;
  size_t agree = 0, rows = ref.size() / n_vocab;
  for (size_t r = 0; r < rows; ++r) {
    size_t ai = 0, bi = 0;
    for (size_t j = 0; j < n_vocab; ++j) {
      const double a = ref[r * n_vocab + j], b = got[r * n_vocab + j];
      num += (a - b) * (a - b);
      den += a * a;
      if (ref[r * n_vocab + j] > ref[r * n_vocab + ai]) ai = j;
      if (got[r * n_vocab + j] > got[r * n_vocab + bi]) bi = j;
    }
    agree += ai == bi;
  }
  c.logit_nmse = num / den;
  c.top1 = double(agree) / double(rows);
  return c;
}

}  // namespace

void register_demo(CLI::App& app) {
  struct Opts {
    std::string out = "slm-demo";
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("demo", "the main job on the built-in default (writes into --out)");
  cmd->add_option("--out", o->out, "working folder")->capture_default_str();
  cmd->callback([o] {
    namespace fs = std::filesystem;
    fs::create_directories(o->out);
    const SynthShape shape = *synth_shape("demo");
    const auto t0 = std::chrono::steady_clock::now();
    auto path_of = [&](DType t) { return (fs::path(o->out) / fmt::format("demo-{}.gguf", quant::type_name(t))).string(); };

    std::printf("[1/3] writing a %s-shape model (%lld layers, hidden %lld, vocab %lld) in float32 ...\n",
                shape.name.c_str(), (long long)shape.layers, (long long)shape.hidden, (long long)shape.vocab);
    write_synth_model(shape, {.type = DType::F32, .seed = 7, .stddev = 0.08f}, path_of(DType::F32));
    const std::vector<DType> types = {DType::F16,  DType::BF16, DType::Q8_0, DType::Q6_K,   DType::Q5_K,
                                      DType::Q5_1, DType::Q5_0, DType::Q4_K, DType::Q4_1,   DType::Q4_0,
                                      DType::IQ4_NL, DType::IQ4_XS, DType::Q3_K, DType::Q2_K};
    std::printf("[2/3] quantising the same weights to %zu types ...\n", types.size());
    for (DType t : types) write_synth_model(shape, {.type = t, .seed = 7, .stddev = 0.08f}, path_of(t));

    const gguf::File q4k = gguf::File::open(path_of(DType::Q4_K));
    std::printf("\n%s\n", gguf::inspect_text(q4k, {.max_items = 4}).c_str());

    std::printf("[3/3] running every model on 64 tokens and comparing with float32 ...\n\n");
    Rng rng(11);
    std::vector<int32_t> ids(64);
    for (int32_t& id : ids) id = int32_t(3 + rng.below(uint64_t(shape.vocab - 3)));
    const gguf::File base = gguf::File::open(path_of(DType::F32));
    const std::vector<float> ref = all_logits(path_of(DType::F32), ids);
    std::printf("%-8s %10s %12s %12s %10s\n", "type", "file MiB", "weight RMSE", "logit NMSE", "top-1 agree");
    for (DType t : types) {
      const gguf::File q = gguf::File::open(path_of(t));
      TypeCost c = compare(ref, all_logits(path_of(t), ids), size_t(shape.vocab));
      c.weight_rmse = weight_rmse(base, q);
      c.file_mib = double(fs::file_size(path_of(t))) / (1024.0 * 1024.0);
      std::printf("%-8s %10.2f %12.3e %12.3e %9.1f%%\n", std::string(quant::type_name(t)).c_str(), c.file_mib,
                  c.weight_rmse, c.logit_nmse, 100.0 * c.top1);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("\ndone in %.1f s; models are in %s/ (try: slm inspect %s)\n", secs, o->out.c_str(),
                path_of(DType::Q4_K).c_str());
  });
}

}  // namespace slm::cli
