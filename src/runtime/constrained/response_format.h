// The request side: OpenAI-style response_format objects and the `choice` extension turned into a
// Grammar, and a cache of TokenIndex objects so that requests repeating a schema reuse its masks.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "runtime/constrained/compile.h"

namespace slm::constrained {

// {"type": "text"} -> nullopt (no constraint); {"type": "json_object"} -> any object;
// {"type": "json_schema", "json_schema": {"name": .., "schema": {..}, "strict": ..}} -> the schema
// (a missing "schema" means any JSON value). Anything else throws slm::Error("[response_format] ...");
// schema problems throw "[schema] ..." (both are a 400).
std::optional<Grammar> grammar_for_response_format(const nlohmann::ordered_json& response_format,
                                                   const CompileOptions& opt = {});
// A key that identifies the grammar a response_format / choice list compiles to (for IndexCache).
std::string cache_key_for_response_format(const nlohmann::ordered_json& response_format, const CompileOptions& opt);
std::string cache_key_for_choice(const std::vector<std::string>& choices);

// TokenIndex objects by key for one vocabulary, least recently used dropped past max_entries.
// Thread-safe. A build that throws caches nothing.
class IndexCache {
 public:
  explicit IndexCache(std::shared_ptr<const VocabTrie> vocab, size_t max_entries = 64)
      : vocab_(std::move(vocab)), max_entries_(max_entries) {}
  std::shared_ptr<TokenIndex> get(const std::string& key, const std::function<Grammar()>& build);
  size_t size();
  const std::shared_ptr<const VocabTrie>& vocab() const { return vocab_; }

 private:
  std::shared_ptr<const VocabTrie> vocab_;
  size_t max_entries_;
  std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<TokenIndex>>> lru_;  // most recent first
  std::unordered_map<std::string, decltype(lru_)::iterator> by_key_;
};

}  // namespace slm::constrained
