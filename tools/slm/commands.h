// Subcommand registration: each cmd_<name>.cc adds its subcommand to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace slm::cli {

// The `bench` group every bench subcommand registers under (created on first use).
CLI::App* bench_group(CLI::App& app);

// Each register_* adds one subcommand (and its callback) to `app`.
void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);  // tokenize, detokenize
void register_bench_tokenize(CLI::App& app);  // bench tokenize
void register_synth_model(CLI::App& app);
void register_demo(CLI::App& app);
void register_run(CLI::App& app);
void register_chat(CLI::App& app);
void register_bench_generate(CLI::App& app);  // bench generate
void register_bench_serve(CLI::App& app);  // bench serve
void register_bench_model(CLI::App& app);  // bench -m MODEL (after the other bench subcommands)
void register_convert(CLI::App& app);  // convert
void register_export(CLI::App& app);   // export --hf
void register_logits(CLI::App& app);
void register_chat_template(CLI::App& app);
void register_serve(CLI::App& app);  // serve
void register_quantize(CLI::App& app);  // quantize
void register_train(CLI::App& app);  // train
void register_eval(CLI::App& app);   // eval
void register_data(CLI::App& app);   // data spam|dedup|split|decontam
void register_merge(CLI::App& app);  // merge
void register_bench_train(CLI::App& app);  // bench train
void register_imatrix(CLI::App& app);  // imatrix
void register_quant_report(CLI::App& app);  // quant-report
void register_tokenizer(CLI::App& app);  // tokenizer train

}  // namespace slm::cli
