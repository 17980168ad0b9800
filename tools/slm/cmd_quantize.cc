// `slm quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [--threads N]`: re-encode a model's tensors.
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"

namespace slm::cli {

void register_quantize(CLI::App& app) {
  struct Options {
    std::string in, out, type, imatrix;
    int threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantise a GGUF model (llama.cpp types and mixes)");
  cmd->add_option("input", opt->in, "Input GGUF")->required();
  cmd->add_option("output", opt->out, "Output GGUF")->required();
  cmd->add_option("type", opt->type, "Target type: Q8_0, Q4_0, Q4_K_M, IQ4_XS, F16, ...")->required();
  cmd->add_option("--imatrix", opt->imatrix, "Importance matrix (imatrix.dat)");
  cmd->add_option("--threads", opt->threads, "Worker threads (0: all)");
  cmd->callback([opt] { throw Error("[quantize] not implemented yet"); });
}

}  // namespace slm::cli
