// `slm quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [--threads N] [--pure]`: re-encode a model's tensors
// with llama.cpp's file types and per-tensor mixes.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "io/gguf.h"
#include "model/imatrix.h"
#include "model/quantize_model.h"
#include "quant/mix.h"
#include "quant/quant.h"

namespace slm::cli {

void register_quantize(CLI::App& app) {
  struct Options {
    std::string in, out, type, imatrix;
    int threads = 0;
    bool pure = false, quiet = false;
  };
  auto opt = std::make_shared<Options>();
  std::string types;
  for (const quant::FileType& f : quant::file_types()) types += (types.empty() ? "" : " ") + std::string(f.name);
  CLI::App* cmd = app.add_subcommand("quantize", "Quantise a GGUF model (llama.cpp file types and mixes)");
  cmd->add_option("input", opt->in, "Input GGUF")->required();
  cmd->add_option("output", opt->out, "Output GGUF")->required();
  cmd->add_option("type", opt->type, "File type: " + types)->required();
  cmd->add_option("--imatrix", opt->imatrix, "Importance matrix (llama.cpp GGUF imatrix or legacy imatrix.dat, from slm imatrix or llama-imatrix)");
  cmd->add_option("--threads", opt->threads, "Worker threads (0: all)");
  cmd->add_flag("--pure", opt->pure, "No mix: every quantised tensor gets the base type");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress output");
  cmd->callback([opt] {
    if (!quant::file_type_from_name(opt->type)) fail("[quantize] unknown type '{}'", opt->type);
    const gguf::File in = gguf::File::open(opt->in);
    model::Imatrix im;
    model::QuantizeOptions qo;
    qo.file_type = opt->type, qo.n_threads = opt->threads, qo.pure = opt->pure;
    if (!opt->imatrix.empty()) {
      im = model::imatrix_read(opt->imatrix);
      qo.imatrix = &im;
      qo.imatrix_file = opt->imatrix;
    }
    if (!opt->quiet)
      qo.progress = [](size_t i, size_t n, const std::string& name, DType t) {
        const int width = 30, done = int(double(i + 1) / double(n) * width);
        std::fprintf(stderr, "\r[%-*s] %zu/%zu %-32.32s -> %-6s", width, std::string(size_t(done), '#').c_str(),
                     i + 1, n, name.c_str(), std::string(quant::type_name(t)).c_str());
        std::fflush(stderr);
      };
    const model::QuantizeReport r = model::quantize_model(in, opt->out, qo);
    if (!opt->quiet) std::fprintf(stderr, "\n");
    int with_im = 0;
    for (const auto& t : r.tensors) with_im += t.used_imatrix ? 1 : 0;
    std::printf("%s: %s -> %s (file type %u): %.2f MiB -> %.2f MiB, %zu tensors, %d fallbacks, %d with imatrix\n",
                opt->type.c_str(), opt->in.c_str(), opt->out.c_str(), r.file_type, double(r.bytes_in) / (1 << 20),
                double(r.bytes_out) / (1 << 20), r.tensors.size(), r.n_fallback, with_im);
  });
}

}  // namespace slm::cli
