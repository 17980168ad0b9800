// `slm synth-model`: random-weight models of real shapes, so benchmark figures can be reproduced anywhere.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "model/synth.h"

namespace slm::cli {

void register_synth_model(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth-model", "write a random-weight GGUF model of a real shape");
  struct Opts {
    std::string shape, type = "F16", vocab, out;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  std::string names;
  for (const std::string& n : synth_shape_names()) names += (names.empty() ? "" : "|") + n;
  cmd->add_option("--shape", o->shape, names)->required();
  cmd->add_option("--type", o->type, "type of the weight matrices (F32, F16, BF16, Q8_0, Q4_0, ...)");
  cmd->add_option("--vocab", o->vocab, "GGUF whose tokenizer.* metadata (vocabulary) is copied");
  cmd->add_option("--seed", o->seed, "random seed");
  cmd->add_option("-o,--output", o->out, "output GGUF")->required();
  cmd->callback([o] {
    const auto shape = synth_shape(o->shape);
    if (!shape) fail("[synth-model] unknown shape '{}'", o->shape);
    const auto type = dtype_from_name(o->type);
    if (!type) fail("[synth-model] unknown type '{}'", o->type);
    std::optional<gguf::File> vocab;
    SynthOptions opt{.type = *type, .seed = o->seed};
    if (!o->vocab.empty()) {
      vocab = gguf::File::open(o->vocab);
      opt.vocab = &*vocab;
    }
    write_synth_model(*shape, opt, o->out);
    std::printf("wrote %s (%s, %s)\n", o->out.c_str(), shape->name.c_str(), dtype_info(*type).name.data());
  });
}

}  // namespace slm::cli
