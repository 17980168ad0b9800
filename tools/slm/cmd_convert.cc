// `slm convert` (Hugging Face folder or llama2.c checkpoint -> GGUF) and `slm export --hf` (GGUF ->
// Hugging Face folder).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "convert/convert.h"
#include "core/error.h"

namespace slm::cli {

void register_convert(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "convert a Hugging Face folder or a llama2.c checkpoint to GGUF");
  struct Opts {
    std::string input, out, type, pre, chat_template_file, tokenizer;
    bool vocab_only = false, ignore_side = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("input", o->input, "Hugging Face folder (config.json, safetensors, tokenizer.json) or llama2.c .bin")
      ->required();
  cmd->add_option("-o,--output", o->out, "output GGUF")->required();
  cmd->add_option("--type", o->type, "weight type: f32, f16, bf16 or q8_0 (default: keep the stored float types)");
  cmd->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin (required for a .bin input)");
  cmd->add_option("--pre", o->pre, "tokenizer.ggml.pre to write instead of detecting it");
  cmd->add_option("--chat-template", o->chat_template_file, "file whose text becomes tokenizer.chat_template");
  cmd->add_flag("--vocab-only", o->vocab_only, "write hyper-parameters and the vocabulary only");
  cmd->add_flag("--ignore-side-file", o->ignore_side, "ignore gguf_metadata.json written by `slm export --hf`");
  cmd->callback([o] {
    std::optional<DType> type;
    if (!o->type.empty()) type = convert::parse_output_type(o->type);
    convert::ConvertSummary s;
    if (std::filesystem::is_directory(o->input)) {
      convert::HfOptions opt;
      opt.type = type;
      opt.vocab_only = o->vocab_only;
      opt.pre = o->pre;
      opt.use_side_file = !o->ignore_side;
      if (!o->chat_template_file.empty()) {
        std::ifstream in(o->chat_template_file, std::ios::binary);
        if (!in) fail("[convert] {}: cannot open", o->chat_template_file);
        std::stringstream ss;
        ss << in.rdbuf();
        opt.chat_template = ss.str();
      }
      s = convert::convert_hf(o->input, o->out, opt);
    } else {
      if (o->tokenizer.empty()) fail("[convert] {}: a llama2.c checkpoint needs --tokenizer tokenizer.bin", o->input);
      s = convert::convert_llama2c(o->input, o->tokenizer, o->out, type);
    }
    std::printf("wrote %s: %s, %zu tensors, %zu metadata keys, %llu bytes%s\n", o->out.c_str(), s.arch.c_str(), s.n_tensors,
                s.n_metadata, static_cast<unsigned long long>(s.bytes), s.from_side_file ? " (with gguf_metadata.json)" : "");
  });
}

void register_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "export a GGUF model to another format");
  struct Opts {
    std::string input, out;
    bool hf = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_flag("--hf", o->hf, "write a Hugging Face folder (safetensors, config.json, tokenizer files)")->required();
  cmd->add_option("input", o->input, "GGUF model")->required();
  cmd->add_option("-o,--output", o->out, "output folder")->required();
  cmd->callback([o] {
    const convert::ExportSummary s = convert::export_hf(o->input, o->out);
    std::printf("wrote %s: %s, %zu tensors in model.safetensors, %zu in gguf_extra.safetensors, tokenizer files: %s\n",
                o->out.c_str(), s.arch.c_str(), s.n_tensors, s.n_side_tensors, s.tokenizer_files ? "yes" : "no");
  });
}

}  // namespace slm::cli
