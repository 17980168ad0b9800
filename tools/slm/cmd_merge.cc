// `slm merge`: base model + GGUF LoRA adapters -> a new GGUF model (F32 weights).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "model/model.h"
#include "train/export.h"

namespace slm::cli {

void register_merge(CLI::App& app) {
  auto* cmd = app.add_subcommand("merge", "merge LoRA adapters into a base model, writing a new GGUF (F32)");
  struct Opts {
    std::string model, out;
    std::vector<std::string> loras;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-m,--model", o->model, "base model (GGUF)")->required();
  cmd->add_option("--lora", o->loras, "GGUF LoRA adapter FILE[:scale] (repeatable)")->required();
  cmd->add_option("-o,--output", o->out, "output GGUF")->required();
  cmd->callback([o] {
    const model::Model m = model::Model::load(o->model);
    if (!m.gguf()) fail("[merge] '{}' is not a GGUF model", o->model);
    train::Net<float> net = train::Net<float>::from_model(m);
    for (const std::string& spec : o->loras) {
      const size_t colon = spec.rfind(':');
      const bool has_scale = colon != std::string::npos && colon + 1 < spec.size() &&
                             spec.find_first_not_of("0123456789.-+eE", colon + 1) == std::string::npos;
      train::merge_gguf_adapter(net, has_scale ? spec.substr(0, colon) : spec,
                                has_scale ? std::stof(spec.substr(colon + 1)) : 1.0f);
    }
    train::write_gguf_model(net, m.gguf(), o->out);
    std::printf("wrote %s\n", o->out.c_str());
  });
}

}  // namespace slm::cli
