// libFuzzer target for the Hugging Face tokenizer.json loader (it arrives with any model to convert or
// serve): any input either loads or throws slm::Error; a loaded tokenizer encodes fixed texts (specials
// parsed and not) into ids inside its vocabulary and decodes them back, without crash or hang.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

volatile size_t g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm;
  using namespace slm::tok;
  std::optional<Tokenizer> tok;
  try {
    tok.emplace(Tokenizer::from_hf_json(std::string_view(reinterpret_cast<const char*>(data), size)));
  } catch (const Error&) {
    return 0;
  }
  static constexpr std::string_view kTexts[] = {
      "Hello, world! 123 4567 it's", "  leading\tand\ntrailing  ", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
      "<s>[INST] hi [/INST]</s><|im_start|>user<|im_end|>", "\xff\xfe broken \xc3 utf8", ""};
  size_t sum = 0;
  for (std::string_view text : kTexts)
    for (bool special : {false, true}) {
      EncodeOptions eo;
      eo.parse_special = special;
      std::vector<TokenId> ids;
      try {
        ids = tok->encode(text, eo);
      } catch (const Error&) {
        continue;  // e.g. a text byte the vocabulary cannot express
      }
      for (TokenId id : ids)
        if (id < 0 || id >= tok->n_vocab()) __builtin_trap();
      try {
        sum += tok->decode(ids).size();
      } catch (const Error&) {
      }
    }
  g_sink = sum;
  return 0;
}
