// libFuzzer target for the other tokenizer sources a model brings: a GGUF's tokenizer.ggml.* metadata
// (input starting with "GGUF") and a SentencePiece tokenizer.model (any other input, read from a memfd).
// Either loads or throws slm::Error; a loaded tokenizer goes through exercise_tokenizer.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "io/gguf.h"
#include "tokenizer_exercise.h"

volatile size_t g_sink;

namespace {

// The SentencePiece reader takes a path: the bytes as an in-memory file.
slm::tok::Tokenizer from_spm_bytes(const uint8_t* data, size_t size) {
  const int fd = memfd_create("vocab_fuzz", 0);
  if (fd < 0) __builtin_trap();
  if (size && write(fd, data, size) != ssize_t(size)) __builtin_trap();
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  return slm::tok::Tokenizer::from_spm_model("/proc/self/fd/" + std::to_string(fd));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<slm::tok::Tokenizer> tok;
  try {
    if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0)
      tok.emplace(slm::tok::Tokenizer::from_gguf(slm::gguf::File::parse(std::span<const uint8_t>(data, size), "fuzz")));
    else
      tok.emplace(from_spm_bytes(data, size));
  } catch (const slm::Error&) {
    return 0;
  }
  g_sink = exercise_tokenizer(*tok);
  return 0;
}
