// Helpers for the GGUF tests: small files built with the Writer, byte patching, error matching.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"

namespace slm::gguf::testing {

inline std::vector<uint8_t> bytes_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

// A small valid file: two metadata keys and two F32 tensors (4x2 and 8), v3 by default.
struct SmallFile {
  std::vector<uint8_t> w0 = bytes_of(4 * 2 * 4, 1), w1 = bytes_of(8 * 4, 2);
  std::vector<uint8_t> build(uint32_t version = 3) const {
    Writer w(version);
    w.add_kv("general.architecture", Value{std::string("llama")});
    w.add_kv("llama.block_count", Value{uint32_t(2)});
    w.add_tensor("a.weight", DType::F32, {4, 2}, w0);
    w.add_tensor("b.weight", DType::F32, {8}, w1);
    return w.to_bytes();
  }
};

// Absolute offset of the first occurrence of `needle` in `b` (SIZE_MAX when absent).
inline size_t find_bytes(const std::vector<uint8_t>& b, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= b.size(); ++i)
    if (std::memcmp(b.data() + i, needle.data(), needle.size()) == 0) return i;
  return SIZE_MAX;
}

template <typename T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
  ASSERT_LE(at + sizeof(T), b.size());
  std::memcpy(b.data() + at, &v, sizeof(T));
}

// The message File::parse throws for `b`, or "" when it parses.
inline std::string parse_error(const std::vector<uint8_t>& b) {
  try {
    File::parse(b, "t.gguf");
  } catch (const slm::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace slm::gguf::testing

// Expects File::parse(bytes) to throw slm::Error whose message contains every given fragment.
#define EXPECT_GGUF_ERROR(bytes, ...)                                                    \
  do {                                                                                   \
    const std::string msg_ = ::slm::gguf::testing::parse_error(bytes);                   \
    EXPECT_FALSE(msg_.empty()) << "parsed without error";                                \
    for (const std::string& frag_ : std::initializer_list<std::string>{__VA_ARGS__})                                          \
      EXPECT_NE(msg_.find(frag_), std::string::npos) << "message: " << msg_ << "\nmissing: " << frag_; \
    EXPECT_EQ(msg_.rfind("[gguf] t.gguf: ", 0), 0u) << msg_;                             \
  } while (0)
