// response_format -> Grammar, and the TokenIndex cache.
#include "runtime/constrained/response_format.h"

#include "core/error.h"

namespace slm::constrained {

std::optional<Grammar> grammar_for_response_format(const nlohmann::ordered_json& rf, const CompileOptions& opt) {
  if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string()) {
    fail("[response_format] expected an object with a string \"type\"");
  }
  const std::string type = rf["type"].get<std::string>();
  if (type == "text") return std::nullopt;
  if (type == "json_object") return compile_json_object(opt);
  if (type != "json_schema") fail("[response_format] unsupported type '{}' (text, json_object, json_schema)", type);
  if (!rf.contains("json_schema") || !rf["json_schema"].is_object()) {
    fail("[response_format] type json_schema needs a \"json_schema\" object");
  }
  const auto& js = rf["json_schema"];
  if (!js.contains("schema")) return compile_json_value(opt);
  return compile_json_schema(js["schema"], opt);
}

std::string cache_key_for_response_format(const nlohmann::ordered_json& rf, const CompileOptions& opt) {
  std::string key = fmt::format("rf|{}|{}|{}|{}|", opt.max_ws, opt.max_depth, opt.max_recursion, opt.max_states);
  const auto& type = rf.contains("type") ? rf["type"] : nlohmann::ordered_json();
  key += type.dump();
  if (rf.contains("json_schema") && rf["json_schema"].is_object() && rf["json_schema"].contains("schema")) {
    key += "|" + rf["json_schema"]["schema"].dump();
  }
  return key;
}

std::string cache_key_for_choice(const std::vector<std::string>& choices) {
  std::string key = "choice";
  for (const auto& c : choices) key += "|" + std::to_string(c.size()) + ":" + c;
  return key;
}

std::shared_ptr<TokenIndex> IndexCache::get(const std::string& key, const std::function<Grammar()>& build) {
  {
    std::lock_guard lock(mu_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Built outside the lock: compiling a big schema must not stall other requests.
  auto index = std::make_shared<TokenIndex>(build(), vocab_);
  std::lock_guard lock(mu_);
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second->second;  // built meanwhile
  lru_.emplace_front(key, index);
  by_key_[key] = lru_.begin();
  while (lru_.size() > max_entries_) {
    by_key_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return index;
}

size_t IndexCache::size() {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace slm::constrained
