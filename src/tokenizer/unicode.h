// UTF-8 helpers and Unicode properties for the tokenizers, all derived from utf8proc (no local tables).
#pragma once

#include "core/utf8.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace slm::tok {

// Decodes the code point at s[i]; returns its length in bytes (1..4), or 0 when the bytes there are not
// a well-formed UTF-8 sequence (truncated, overlong, surrogate, > U+10FFFF).
int utf8_decode(std::string_view s, size_t i, char32_t* cp);
// Length of the sequence a lead byte announces (1..4), 1 for a stray continuation or invalid byte.
inline int utf8_lead_len(uint8_t c) {
  return c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
}
using ::slm::utf8_append;
// True when every byte of s belongs to a well-formed UTF-8 sequence.
bool utf8_valid(std::string_view s);
// s with each ill-formed byte replaced by U+FFFD.
std::string utf8_sanitize(std::string_view s);
// Length of the longest prefix of s that does not end inside an unfinished (but so far valid) sequence.
size_t utf8_complete_prefix(std::string_view s);

// Unicode normal forms and case mapping (utf8proc); input must be valid UTF-8.
enum class NormalForm { nfc, nfd, nfkc, nfkd };
std::string normalize(std::string_view s, NormalForm form);
std::string to_lower(std::string_view s);
// NFD, then drops combining marks (category Mn), as BERT's strip_accents does.
std::string strip_accents(std::string_view s);

// General-category predicates.
bool is_letter(char32_t c);       // L*
bool is_number(char32_t c);       // N*
bool is_punctuation(char32_t c);  // P*
bool is_symbol(char32_t c);       // S*
bool is_control(char32_t c);      // C* (Cc, Cf, Cs, Co, Cn)
bool is_mark_nonspacing(char32_t c);  // Mn
// White_Space: the separators Zs/Zl/Zp plus the ASCII and C1 layout controls TAB..CR and NEL.
bool is_whitespace(char32_t c);
// CJK ideograph blocks, as BERT's basic tokenizer isolates them.
bool is_cjk_ideograph(char32_t c);
char32_t lower_cp(char32_t c);
// The first code point of c's canonical decomposition (c itself when it has none; Hangul syllables kept).
char32_t base_cp(char32_t c);
std::string fold_to_base(std::string_view s);

// GPT-2 byte-level alphabet: each byte maps to one printable code point (its UTF-8 in byte_to_unicode()[b]).
const std::array<std::string, 256>& byte_to_unicode();
// The inverse for one code point; -1 when cp is not in the alphabet.
int unicode_to_byte(char32_t cp);
// The byte-level form of raw bytes, and back (unknown code points are kept as their UTF-8).
std::string bytes_to_byte_level(std::string_view bytes);
std::string byte_level_to_bytes(std::string_view text);

}  // namespace slm::tok
