// Constrained decoding overhead on real vocabularies (Llama 2 SentencePiece, 32k; Qwen2 tiktoken, 151k):
// the cost of a token mask computed cold (one vocabulary-trie walk per new automaton state, reported per
// vocabulary entry) and the per-generated-token cost once masks are cached (mask copy + advance, and
// with masking a logits row).
//   build-NAME/bench/constrained_bench [--benchmark_filter=...]
// Needs ../shared/testdata (or $SLM_TESTDATA); benchmarks report an error when it is absent.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "runtime/constrained/compile.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace slm::constrained;
namespace fs = std::filesystem;

fs::path testdata() {
  if (const char* env = std::getenv("SLM_TESTDATA"); env && *env) return env;
  return fs::path(__FILE__).parent_path() / ".." / ".." / "shared" / "testdata";
}

const char* kSchema = R"({"type": "object", "properties": {
  "name": {"type": "string", "maxLength": 40},
  "age": {"type": "integer", "minimum": 0, "maximum": 150},
  "email": {"type": "string", "pattern": "^[a-z0-9._]+@[a-z0-9]+\\.[a-z]{2,4}$"},
  "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"},
              "zip": {"type": "string", "pattern": "^\\d{5}$"}}, "required": ["city"]},
  "tags": {"type": "array", "items": {"type": "string", "enum": ["admin", "user", "guest"]}, "maxItems": 3},
  "score": {"type": "number", "minimum": 0, "maximum": 100},
  "active": {"type": "boolean"}},
  "required": ["name", "age", "email", "address", "tags", "score", "active"]})";

const char* kDoc = R"({"name": "Jane Q. Public, née Smith", "age": 42, "email": "jane.public@example.com", )"
                   R"("address": {"street": "1 Main Street, Apt 5", "city": "Springfield", "zip": "12345"}, )"
                   R"("tags": ["admin", "user"], "score": 97.25, "active": true})";

struct Setup {
  std::shared_ptr<VocabTrie> trie;
  std::vector<int32_t> tokens;  // kDoc as the tokenizer writes it
  Grammar grammar;
  Grammar object;
  std::string error;
};

const Setup& setup(int which) {
  static std::map<int, Setup> cache;
  if (auto it = cache.find(which); it != cache.end()) return it->second;
  Setup& s = cache[which];
  try {
    const fs::path dir = testdata() / "tokenizers";
    const slm::tok::Tokenizer tok =
        which == 0 ? slm::tok::Tokenizer::from_spm_model((dir / "llama2-spm" / "tokenizer.model").string())
                   : slm::tok::Tokenizer::from_tiktoken((dir / "qwen" / "qwen.tiktoken").string(), "qwen2",
                                                        {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
    s.trie = std::make_shared<VocabTrie>(vocabulary_from_tokenizer(tok));
    s.tokens = tok.encode(kDoc, {.add_special = false});
    s.grammar = compile_json_schema(nlohmann::ordered_json::parse(kSchema));
    s.object = compile_json_object();
  } catch (const std::exception& e) {
    s.error = e.what();
  }
  return s;
}

// Every mask along the document computed from scratch (a fresh index each iteration).
void BM_MaskCold(benchmark::State& state) {
  const Setup& s = setup(int(state.range(0)));
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  std::vector<uint64_t> mask(s.trie->n_words());
  size_t masks = 0;
  for (auto _ : state) {
    auto index = std::make_shared<TokenIndex>(state.range(1) ? s.object : s.grammar, s.trie);
    Constraint c(index);
    for (int32_t t : s.tokens) {
      c.allowed(mask);
      if (!c.advance(t)) return state.SkipWithError("document token not allowed");
    }
    masks += index->stats().masks_computed;
    benchmark::DoNotOptimize(mask.data());
  }
  state.counters["vocab"] = double(s.trie->n_vocab());
  state.counters["masks"] = double(masks) / double(state.iterations());
  state.counters["per_mask"] = benchmark::Counter(double(masks), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["per_vocab_entry"] = benchmark::Counter(double(masks) * double(s.trie->n_vocab()),
                                                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The steady state: masks cached, per generated token one mask fill and one advance (plus, with
// range(2), masking a logits row).
void BM_TokenWarm(benchmark::State& state) {
  const Setup& s = setup(int(state.range(0)));
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  auto index = std::make_shared<TokenIndex>(state.range(1) ? s.object : s.grammar, s.trie);
  std::vector<uint64_t> mask(s.trie->n_words());
  std::vector<float> logits(size_t(s.trie->n_vocab()), 0.5f);
  const bool with_logits = state.range(2) != 0;
  for (int warm = 0; warm < 2; ++warm) {
    Constraint c(index);
    for (int32_t t : s.tokens) c.allowed(mask), c.advance(t);
  }
  for (auto _ : state) {
    Constraint c(index);
    for (int32_t t : s.tokens) {
      if (with_logits) {
        c.mask_logits(logits);
      } else {
        c.allowed(mask);
      }
      c.advance(t);
    }
    benchmark::DoNotOptimize(mask.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tokens"] = double(s.tokens.size());
  state.counters["per_token"] = benchmark::Counter(double(s.tokens.size()) * double(state.iterations()),
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Schema compilation (schema text -> automaton), for the request path.
void BM_CompileSchema(benchmark::State& state) {
  const auto schema = nlohmann::ordered_json::parse(kSchema);
  for (auto _ : state) benchmark::DoNotOptimize(compile_json_schema(schema).n_states());
}

}  // namespace

// Args: {vocabulary (0: Llama 2 32k, 1: Qwen2 151k), 0: the schema / 1: json_object}
BENCHMARK(BM_MaskCold)->Args({0, 0})->Args({1, 0})->Args({0, 1})->Args({1, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TokenWarm)
    ->Args({0, 0, 0})->Args({1, 0, 0})->Args({0, 0, 1})->Args({1, 0, 1})->Args({1, 1, 0})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CompileSchema)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
