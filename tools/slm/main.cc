// The `slm` entry point: builds the subcommand tree and turns slm::Error into a clean exit code.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"slm: small language models from raw data to an evaluated model behind an API"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "slm 0.1.0");
  slm::cli::register_inspect(app);
  slm::cli::register_tokenize(app);
  slm::cli::register_bench_tokenize(app);
  slm::cli::register_synth_model(app);
  slm::cli::register_demo(app);
  slm::cli::register_run(app);
  slm::cli::register_chat(app);
  slm::cli::register_bench_generate(app);
  slm::cli::register_bench_train(app);
  slm::cli::register_bench_serve(app);
  slm::cli::register_bench_model(app);
  slm::cli::register_convert(app);
  slm::cli::register_export(app);
  slm::cli::register_logits(app);
  slm::cli::register_chat_template(app);
  slm::cli::register_serve(app);
  slm::cli::register_quantize(app);
  slm::cli::register_train(app);
  slm::cli::register_eval(app);
  slm::cli::register_data(app);
  slm::cli::register_merge(app);
  slm::cli::register_imatrix(app);
  slm::cli::register_quant_report(app);
  slm::cli::register_tokenizer(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const slm::Error& e) {
    std::fprintf(stderr, "slm: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "slm: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
