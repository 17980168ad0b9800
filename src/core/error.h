// Errors: slm::Error for bad input (files, flags, requests), SLM_CHECK for broken invariants.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace slm {

// Thrown for bad input. The message starts with the component in brackets:
// "[gguf] tensor 'blk.3.attn_q.weight': expected 2 dims, got 3".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);

}  // namespace slm

// Aborts with file:line, the condition and a formatted message. For invariants, never for bad input.
#define SLM_CHECK(cond, ...)                                                               \
  do {                                                                                     \
    if (!(cond)) [[unlikely]]                                                              \
      ::slm::check_failed(__FILE__, __LINE__, #cond, ::fmt::format("" __VA_ARGS__));       \
  } while (0)
