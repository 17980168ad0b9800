// UTF-8 string helpers with Python `str` semantics, for the Jinja engine (codepoint indexing,
// Unicode whitespace, case mapping, repr and JSON string escaping).
#pragma once

#include "core/utf8.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slm::jinja::text {

// Decodes UTF-8 to codepoints; invalid bytes decode to U+FFFD one byte at a time.
std::vector<char32_t> decode(std::string_view s);
inline void append_utf8(std::string& out, char32_t cp) { ::slm::utf8_append(out, cp); }
std::string encode(const std::vector<char32_t>& cps);
size_t codepoint_count(std::string_view s);
// Decodes the codepoint at byte `i` (U+FFFD for an invalid byte); returns its length in bytes (>= 1).
size_t next_codepoint(std::string_view s, size_t i, char32_t* cp);

// Python's str.isspace() set.
bool is_space(char32_t c);

// str.strip/lstrip/rstrip; `chars` == nullptr means whitespace.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title()
std::string capitalize(std::string_view s);  // str.capitalize()
// jinja2's title filter: capitalizes each piece after a run of whitespace or -([{<.
std::string title_words(std::string_view s);

// str.split(sep, maxsplit); sep == nullptr splits on runs of whitespace.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);

// Python repr() of a str: single quotes unless the text has ' and no ".
std::string py_repr(std::string_view s);
// json.dumps(s, ensure_ascii=False).
void json_quote(std::string& out, std::string_view s);
// HTML escaping as markupsafe does (& < > " ').
std::string html_escape(std::string_view s);

}  // namespace slm::jinja::text
