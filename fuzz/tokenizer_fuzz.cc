// libFuzzer target for the Hugging Face tokenizer.json loader (it arrives with any model to convert or
// serve): any input either loads or throws slm::Error; a loaded tokenizer goes through exercise_tokenizer.
#include <cstdint>
#include <optional>
#include <string_view>

#include "tokenizer_exercise.h"

volatile size_t g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<slm::tok::Tokenizer> tok;
  try {
    tok.emplace(slm::tok::Tokenizer::from_hf_json(std::string_view(reinterpret_cast<const char*>(data), size)));
  } catch (const slm::Error&) {
    return 0;
  }
  g_sink = exercise_tokenizer(*tok);
  return 0;
}
