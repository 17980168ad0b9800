// Jinja lexer: template source -> token stream, applying whitespace control ({%- -%}, {{- -}}, {#- -#}),
// trim_blocks, lstrip_blocks, {% raw %} and comments the way Python jinja2's lexer does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slm::jinja {

struct Options {
  bool trim_blocks = true;             // drop the first newline after a block or comment tag
  bool lstrip_blocks = true;           // drop spaces/tabs before a block or comment tag at line start
  bool keep_trailing_newline = false;  // jinja2's default drops one trailing newline of the source
};

enum class TokenType : uint8_t {
  data, var_begin, var_end, block_begin, block_end, name, string, integer, floating, op, eof
};

struct Token {
  TokenType type = TokenType::eof;
  uint32_t pos = 0;   // byte offset in the normalised source
  std::string text;   // data text, name, decoded string literal, or operator
  int64_t ival = 0;
  double fval = 0;
};

// "\r\n" and "\r" become "\n"; one trailing newline is dropped unless kept.
std::string normalize_source(std::string_view src, const Options& opt);

// Tokenises normalised source; throws slm::Error "[jinja] line L col C: ..." on malformed input.
std::vector<Token> lex(std::string_view src, const Options& opt);

// "line L col C" of a byte offset (column in codepoints, both 1-based).
std::string location(std::string_view src, size_t pos);
[[noreturn]] void syntax_error(std::string_view src, size_t pos, const std::string& msg);

}  // namespace slm::jinja
