// `slm imatrix -m MODEL -f CALIB.txt -o FILE [--output-format gguf|dat]`: importance matrix in llama.cpp's
// formats (GGUF when the name ends in .gguf or --output-format gguf, else the legacy imatrix.dat).
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "model/imatrix.h"
#include "tokenizer/tokenizer.h"

namespace slm::cli {

void register_imatrix(CLI::App& app) {
  struct Options {
    std::string model, text, out = "imatrix.dat", format;
    int n_ctx = 512, chunks = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("imatrix", "Collect an importance matrix from calibration text");
  cmd->add_option("-m,--model", opt->model, "Model GGUF")->required();
  cmd->add_option("-f,--file", opt->text, "Calibration text file")->required();
  cmd->add_option("-o,--output", opt->out, "Output file (GGUF when it ends in .gguf, else legacy imatrix.dat)")
      ->capture_default_str();
  cmd->add_option("--output-format", opt->format, "gguf or dat (default: from the output name)")
      ->check(CLI::IsMember({"gguf", "dat"}));
  cmd->add_option("-c,--ctx", opt->n_ctx, "Tokens per chunk")->capture_default_str();
  cmd->add_option("--chunks", opt->chunks, "Chunks to process (0: all)");
  cmd->callback([opt] {
    std::ifstream f(opt->text, std::ios::binary);
    if (!f) fail("[imatrix] cannot open {}", opt->text);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const model::Model m = model::Model::load(opt->model);
    if (m.gguf() == nullptr) fail("[imatrix] {}: a GGUF model is required", opt->model);
    const tok::Tokenizer t = tok::Tokenizer::from_gguf(*m.gguf());
    std::vector<int32_t> ids;
    for (tok::TokenId id : t.encode(text)) ids.push_back(int32_t(id));
    model::Imatrix im = model::imatrix_collect(m, ids, {.n_ctx = opt->n_ctx, .max_chunks = opt->chunks},
                                               [](int done, int total) {
                                                 std::fprintf(stderr, "\rimatrix: chunk %d/%d", done, total);
                                                 std::fflush(stderr);
                                               });
    std::fprintf(stderr, "\n");
    im.dataset = opt->text;
    const bool gguf = opt->format.empty() ? opt->out.ends_with(".gguf") : opt->format == "gguf";
    if (gguf) model::imatrix_write_gguf(im, opt->out);
    else model::imatrix_write(im, opt->out);
    std::printf("imatrix: %zu tokens, %d chunks, %zu entries -> %s\n", ids.size(), im.chunks, im.entries.size(),
                opt->out.c_str());
  });
}

}  // namespace slm::cli
