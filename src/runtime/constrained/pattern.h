// Regular expressions (the ECMA-262 subset JSON Schema patterns commonly use) compiled to the IR:
// literals, '.', classes with ranges and negation, escapes \d \w \s \D \W \S \n \r \t \f \v \0 \xHH
// \uHHHH and escaped punctuation, groups (?:...) and (?<name>...), alternation, quantifiers * + ? {n}
// {n,} {n,m} (lazy forms too), anchors ^ and $ at the ends of a top-level alternative. Anything else
// (backreferences, lookaround, \b, \p{...}, flags) throws slm::Error naming the construct.
#pragma once

#include <string_view>

#include "runtime/constrained/ir.h"

namespace slm::constrained {

enum class CharEncoding {
  raw,   // each character as its UTF-8 bytes
  json,  // each character as it may appear inside a JSON string (see ir_json_char)
};

// search: JSON Schema semantics (the pattern may match anywhere unless anchored); otherwise the whole
// text must match. `context` starts every error message ("[schema] /properties/id/pattern").
ExprPtr compile_pattern(std::string_view pattern, bool search, CharEncoding enc, std::string_view context);

// The regex's own characters as code points; throws on invalid UTF-8.
std::u32string decode_utf8(std::string_view s, std::string_view context);

}  // namespace slm::constrained
