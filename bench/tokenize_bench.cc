// Tokenizer encode/decode throughput on the shared test data vocabularies (one per family).
// Needs SLM_TESTDATA (or ../shared/testdata from the working directory); families whose file is
// absent are skipped.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "core/rng.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string testdata() {
  if (const char* env = std::getenv("SLM_TESTDATA"); env && *env) return env;
  return "../shared/testdata";
}

const slm::tok::Tokenizer* tokenizer(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<slm::tok::Tokenizer>> cache;
  auto it = cache.find(rel);
  if (it != cache.end()) return it->second.get();
  const std::string path = testdata() + "/tokenizers/" + rel;
  std::unique_ptr<slm::tok::Tokenizer> t;
  if (std::filesystem::exists(path)) t = std::make_unique<slm::tok::Tokenizer>(slm::tok::Tokenizer::load(path));
  return cache.emplace(rel, std::move(t)).first->second.get();
}

// ~64 KB of English-like lines with numbers, punctuation and some non-Latin text.
const std::vector<std::string>& lines() {
  static const std::vector<std::string> v = [] {
    const char* words[] = {"the", "of", "and", "model", "tokenizer", "quickly", "don't", "2026", "3.14", "naïve",
                           "日本語", "текст", "(see", "above),", "x+=1;", "user@example.com", "🙂", "we'll"};
    slm::Rng rng(3);
    std::vector<std::string> out;
    size_t total = 0;
    while (total < 64 * 1024) {
      std::string l;
      while (l.size() < 120) l += std::string(words[rng.next_u64() % std::size(words)]) + " ";
      total += l.size();
      out.push_back(std::move(l));
    }
    return out;
  }();
  return v;
}

void BM_Encode(benchmark::State& state, const std::string& rel) {
  const slm::tok::Tokenizer* tok = tokenizer(rel);
  if (!tok) {
    state.SkipWithError(("missing test data: " + rel).c_str());
    return;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& l : lines()) {
      benchmark::DoNotOptimize(tok->encode(l, {.add_special = false}));
      bytes += l.size();
    }
  }
  state.SetBytesProcessed(int64_t(bytes));
}

void BM_Decode(benchmark::State& state, const std::string& rel) {
  const slm::tok::Tokenizer* tok = tokenizer(rel);
  if (!tok) {
    state.SkipWithError(("missing test data: " + rel).c_str());
    return;
  }
  std::vector<std::vector<slm::tok::TokenId>> ids;
  for (const std::string& l : lines()) ids.push_back(tok->encode(l, {.add_special = false}));
  size_t bytes = 0;
  for (auto _ : state) {
    for (const auto& v : ids) bytes += tok->decode(v).size();
  }
  state.SetBytesProcessed(int64_t(bytes));
}

BENCHMARK_CAPTURE(BM_Encode, spm_llama, std::string("llamacpp-vocab/ggml-vocab-llama-spm.gguf"));
BENCHMARK_CAPTURE(BM_Encode, bpe_llama3, std::string("gguf/llama-bpe.gguf"));
BENCHMARK_CAPTURE(BM_Encode, bpe_qwen2, std::string("gguf/qwen2.gguf"));
BENCHMARK_CAPTURE(BM_Encode, wordpiece_bert, std::string("llamacpp-vocab/ggml-vocab-bert-bge.gguf"));
BENCHMARK_CAPTURE(BM_Decode, bpe_llama3, std::string("gguf/llama-bpe.gguf"));
BENCHMARK_CAPTURE(BM_Decode, spm_llama, std::string("llamacpp-vocab/ggml-vocab-llama-spm.gguf"));

}  // namespace

BENCHMARK_MAIN();
