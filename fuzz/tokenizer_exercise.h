// What the tokenizer fuzz targets do with a tokenizer that loaded: encode fixed texts (specials parsed and
// not) into ids inside the vocabulary, and decode them back, without crash or hang.
#pragma once

#include <string_view>
#include <vector>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

inline size_t exercise_tokenizer(const slm::tok::Tokenizer& tok) {
  using namespace slm::tok;
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
        ids = tok.encode(text, eo);
      } catch (const slm::Error&) {
        continue;  // e.g. a text byte the vocabulary cannot express
      }
      for (TokenId id : ids)
        if (id < 0 || id >= tok.n_vocab()) __builtin_trap();
      try {
        sum += tok.decode(ids).size();
      } catch (const slm::Error&) {
      }
    }
  return sum;
}
