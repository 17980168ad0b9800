// `slm bench tokenize`: encoding throughput (MB/s) of each tokenizer family on a ~10 MB text.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "tokenizer/tokenizer.h"

namespace slm::cli {
namespace {

struct BenchTokenizeFlags {
  std::string text_file, testdata;
  std::vector<std::string> models;  // NAME=PATH
  double mb = 10.0;
  int repeat = 1;
};

// Deterministic English-like text with punctuation, numbers, code and some non-Latin script, in lines.
std::string synthetic_text(size_t bytes) {
  static const char* words[] = {
      "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
      "not", "he", "I", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
      "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when",
      "will", "would", "who", "so", "no", "tokenizer", "model", "training", "evaluation", "language", "quickly",
      "government", "Atlanta's", "jury", "election", "don't", "we'll", "naïve", "café", "Führer", "straße",
      "日本語", "模型", "русский", "текст", "🙂", "x+=1;", "std::vector<int>", "return", "0x1F", "3.14159",
      "2026", "1,000,000", "(see", "above)", "\"quoted\"", "e-mail:", "user@example.com", "--flag", "#include"};
  constexpr size_t n_words = sizeof(words) / sizeof(words[0]);
  Rng rng(7);
  std::string out;
  out.reserve(bytes + 256);
  size_t line_len = 0;
  while (out.size() < bytes) {
    const char* w = words[rng.next_u64() % n_words];
    out += w;
    line_len += std::strlen(w);
    const uint64_t r = rng.next_u64() % 100;
    if (r < 6) out += ".";
    else if (r < 10) out += ",";
    if (line_len > 60 + rng.next_u64() % 200) {
      out += (r % 5 == 0) ? "\n\n" : "\n";
      line_len = 0;
    } else {
      out += (r == 99) ? "   " : " ";
    }
  }
  return out;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[bench] cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string default_testdata(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("SLM_TESTDATA"); env && *env) return env;
  for (const char* p : {"../shared/testdata", "../../shared/testdata", "shared/testdata"})
    if (std::filesystem::is_directory(p)) return p;
  return "";
}

void run(const BenchTokenizeFlags& f) {
  std::string text;
  std::string source;
  if (!f.text_file.empty()) {
    const std::string base = read_file(f.text_file);
    if (base.empty()) fail("[bench] '{}' is empty", f.text_file);
    while (text.size() < size_t(f.mb * 1e6)) text += base;  // repeat a short corpus up to the size
    text.resize(size_t(f.mb * 1e6));
    source = f.text_file;
  } else {
    text = synthetic_text(size_t(f.mb * 1e6));
    source = "synthetic";
  }
  // Records: one per line, as a data pipeline tokenizes them.
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(std::string_view(text).substr(at, nl - at + (nl < text.size())));
    at = nl + 1;
  }
  std::vector<std::pair<std::string, std::string>> models;
  for (const std::string& m : f.models) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos) fail("[bench] --model expects NAME=PATH, got '{}'", m);
    models.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  if (models.empty()) {
    const std::string td = default_testdata(f.testdata);
    if (td.empty()) fail("[bench] no --model given and no test data found (set SLM_TESTDATA or --testdata)");
    const std::filesystem::path d = std::filesystem::path(td) / "tokenizers";
    models = {{"spm (llama-spm)", (d / "llamacpp-vocab/ggml-vocab-llama-spm.gguf").string()},
              {"bpe llama3", (d / "gguf/llama-bpe.gguf").string()},
              {"bpe qwen2", (d / "gguf/qwen2.gguf").string()},
              {"wordpiece (bert-bge)", (d / "llamacpp-vocab/ggml-vocab-bert-bge.gguf").string()}};
  }
  std::printf("text: %s, %.2f MB in %zu lines, best of %d\n", source.c_str(), text.size() / 1e6, lines.size(),
              f.repeat);
  // MB/s from wall time and from this thread's CPU time (the latter is steadier on a busy machine).
  std::printf("%-24s %10s %10s %12s %10s\n", "tokenizer", "MB/s", "MB/s(cpu)", "tokens", "load s");
  for (const auto& [name, path] : models) {
    const auto t0 = std::chrono::steady_clock::now();
    const tok::Tokenizer tok = tok::Tokenizer::load(path);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double best = 1e30, best_cpu = 1e30;
    size_t n_tokens = 0;
    for (int r = 0; r < std::max(1, f.repeat); ++r) {
      n_tokens = 0;
      const auto a = std::chrono::steady_clock::now();
      const double c0 = thread_cpu_seconds();
      for (std::string_view l : lines) n_tokens += tok.encode(l, {.add_special = false}).size();
      best_cpu = std::min(best_cpu, thread_cpu_seconds() - c0);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    std::printf("%-24s %10.2f %10.2f %12zu %10.2f\n", name.c_str(), text.size() / 1e6 / best,
                text.size() / 1e6 / best_cpu, n_tokens, load_s);
  }
}

}  // namespace

void register_bench_tokenize(CLI::App& app) {
  auto f = std::make_shared<BenchTokenizeFlags>();
  CLI::App* cmd = bench_group(app)->add_subcommand("tokenize", "Tokenizer encoding throughput per family");
  cmd->add_option("--text", f->text_file, "Text to encode (repeated up to --mb); default: synthetic text");
  cmd->add_option("--mb", f->mb, "Megabytes of text")->check(CLI::Range(0.01, 1000.0));
  cmd->add_option("--model", f->models, "NAME=PATH of a tokenizer (repeatable); default: the four families from "
                                        "the shared test data");
  cmd->add_option("--testdata", f->testdata, "Shared test data folder (default $SLM_TESTDATA or ../shared/testdata)");
  cmd->add_option("--repeat", f->repeat, "Runs per tokenizer; the best is reported")->check(CLI::Range(1, 100));
  cmd->callback([f] { run(*f); });
}

}  // namespace slm::cli
