// `slm inspect FILE.gguf [--json]`: metadata, tensor table, parameter count and bytes per type.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "io/gguf.h"
#include "io/gguf_inspect.h"

namespace slm::cli {

void register_inspect(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
    size_t max_items = 8;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a GGUF file's metadata, tensors and sizes");
  cmd->add_option("file", opt->path, "GGUF file")->required();
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of text");
  cmd->add_option("--items", opt->max_items, "Array items shown before summarising")->capture_default_str();
  cmd->callback([opt] {
    const gguf::File f = gguf::File::open(opt->path);
    const gguf::InspectOptions io{.max_items = opt->max_items};
    const std::string out =
        opt->json ? gguf::inspect_json(f, io).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                  : gguf::inspect_text(f, io);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace slm::cli
