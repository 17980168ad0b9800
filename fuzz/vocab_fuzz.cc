// libFuzzer target for the other tokenizer sources a model brings: a GGUF's tokenizer.ggml.* metadata
// (input starting with "GGUF") and a SentencePiece tokenizer.model (any other input, read from a memfd).
// Either loads or throws slm::Error; a loaded tokenizer goes through exercise_tokenizer.
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "io/gguf.h"
#include "mem_file.h"
#include "tokenizer_exercise.h"

volatile size_t g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<slm::tok::Tokenizer> tok;
  try {
    if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0)
      tok.emplace(slm::tok::Tokenizer::from_gguf(slm::gguf::File::parse(std::span<const uint8_t>(data, size), "fuzz")));
    else
      tok.emplace(slm::tok::Tokenizer::from_spm_model(MemFile(data, size).path()));
  } catch (const slm::Error&) {
    return 0;
  }
  g_sink = exercise_tokenizer(*tok);
  return 0;
}
