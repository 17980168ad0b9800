// Jinja lexer with jinja2's whitespace rules (trim_blocks, lstrip_blocks, '-' and '+' modifiers).
#include "tokenizer/jinja_lexer.h"

#include <fmt/format.h>

#include <cstring>

#include "core/error.h"
#include "tokenizer/jinja_text.h"

namespace slm::jinja {

std::string location(std::string_view src, size_t pos) {
  pos = std::min(pos, src.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (src[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const size_t col = 1 + text::codepoint_count(src.substr(line_start, pos - line_start));
  return fmt::format("line {} col {}", line, col);
}

void syntax_error(std::string_view src, size_t pos, const std::string& msg) {
  throw Error(fmt::format("[jinja] {}: {}", location(src, pos), msg));
}

std::string normalize_source(std::string_view src, const Options& opt) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out += src[i];
    }
  }
  if (!opt.keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's str.rstrip() on UTF-8 text.
std::string rstrip_text(std::string_view t) { return text::strip(t, nullptr, false, true); }

// Length in bytes of the run of (Unicode) whitespace starting at `pos`.
size_t whitespace_run(std::string_view s, size_t pos) {
  size_t p = pos;
  while (p < s.size()) {
    char32_t cp = 0;
    const size_t n = text::next_codepoint(s, p, &cp);
    if (!text::is_space(cp)) break;
    p += n;
  }
  return p - pos;
}

class Lexer {
 public:
  Lexer(std::string_view src, const Options& opt) : s_(src), opt_(opt) {}

  std::vector<Token> run() {
    size_t pos = 0;
    while (pos < s_.size()) {
      const size_t t = find_tag(pos);
      if (t == std::string_view::npos) {
        push_data(std::string(s_.substr(pos)), pos);
        break;
      }
      const char kind = s_[t + 1];
      size_t after = t + 2;
      char sign = 0;
      if (after < s_.size() && (s_[after] == '-' || s_[after] == '+')) sign = s_[after++];
      size_t raw_end = 0;
      const bool raw = kind == '%' && match_raw_begin(after, &raw_end);
      push_data(strip_before(s_.substr(pos, t - pos), sign, kind != '{'), pos);
      if (kind == '#') {
        pos = lex_comment(t, after);
      } else if (raw) {
        line_starting_ = s_[raw_end - 1] == '\n';
        pos = lex_raw(raw_end);
      } else {
        pos = lex_tag(t, after, kind == '%');
      }
    }
    out_.push_back(Token{TokenType::eof, uint32_t(s_.size()), {}, 0, 0});
    return std::move(out_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = s_.find('{', from); i != std::string_view::npos; i = s_.find('{', i + 1)) {
      if (i + 1 < s_.size() && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    }
    return std::string_view::npos;
  }

  void push_data(std::string text, size_t pos) {
    if (!text.empty()) out_.push_back(Token{TokenType::data, uint32_t(pos), std::move(text), 0, 0});
  }

  // Text before a tag: '-' strips all trailing whitespace; lstrip_blocks strips a whitespace-only
  // line prefix before block and comment tags unless the tag says '+'.
  std::string strip_before(std::string_view text, char sign, bool lstrip_kind) const {
    if (sign == '-') return rstrip_text(text);
    if (sign != '+' && opt_.lstrip_blocks && lstrip_kind) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && l_pos < text.size() &&
          whitespace_run(text, l_pos) == text.size() - l_pos)
        return std::string(text.substr(0, l_pos));
    }
    return std::string(text);
  }

  size_t skip_ascii_space(size_t p) const {
    while (p < s_.size() && is_ascii_space(s_[p])) ++p;
    return p;
  }

  bool starts(size_t p, const char* lit) const { return s_.compare(p, std::strlen(lit), lit) == 0; }

  // Matches the end of a block-like tag at p: "+%}", "-%}" + whitespace, or "%}" + optional "\n".
  // Returns the end offset or npos.
  size_t match_block_end(size_t p, char c) const {
    const std::string close = std::string(1, c) + "}";
    if (p < s_.size() && s_[p] == '+' && starts(p + 1, close.c_str())) return p + 3;
    if (p < s_.size() && s_[p] == '-' && starts(p + 1, close.c_str())) return p + 3 + whitespace_run(s_, p + 3);
    if (starts(p, close.c_str())) {
      size_t e = p + 2;
      if (opt_.trim_blocks && e < s_.size() && s_[e] == '\n') ++e;
      return e;
    }
    return std::string_view::npos;
  }

  // "{%[-+]? raw %}" (raw's own end takes no trim_blocks, as in jinja2).
  bool match_raw_begin(size_t after, size_t* end) const {
    size_t p = skip_ascii_space(after);
    if (!starts(p, "raw")) return false;
    p += 3;
    const size_t q = skip_ascii_space(p);
    if (starts(q, "-%}")) {
      *end = q + 3 + whitespace_run(s_, q + 3);
      return true;
    }
    if (starts(q, "%}")) {
      *end = q + 2;
      return true;
    }
    return false;
  }

  size_t lex_comment(size_t tag, size_t from) {
    for (size_t i = from; i < s_.size(); ++i) {
      if (s_[i] != '+' && s_[i] != '-' && s_[i] != '#') continue;
      const size_t e = match_block_end(i, '#');
      if (e != std::string_view::npos) {
        line_starting_ = s_[e - 1] == '\n';
        return e;
      }
    }
    syntax_error(s_, tag, "missing end of comment tag '#}'");
  }

  size_t lex_raw(size_t from) {
    for (size_t i = s_.find("{%", from); i != std::string_view::npos; i = s_.find("{%", i + 1)) {
      size_t p = i + 2;
      char sign = 0;
      if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) sign = s_[p++];
      p = skip_ascii_space(p);
      if (!starts(p, "endraw")) continue;
      p = skip_ascii_space(p + 6);
      const size_t e = match_block_end(p, '%');
      if (e == std::string_view::npos) continue;
      push_data(strip_before(s_.substr(from, i - from), sign, true), from);
      line_starting_ = s_[e - 1] == '\n';
      return e;
    }
    syntax_error(s_, from, "missing end of raw directive '{% endraw %}'");
  }

  size_t lex_tag(size_t tag, size_t p, bool block) {
    out_.push_back(Token{block ? TokenType::block_begin : TokenType::var_begin, uint32_t(tag), {}, 0, 0});
    int depth = 0;
    while (true) {
      p = skip_ascii_space(p);
      if (p >= s_.size())
        syntax_error(s_, tag, fmt::format("unexpected end of template, expected '{}'", block ? "%}" : "}}"));
      if (depth == 0) {
        size_t e = std::string_view::npos;
        if (block) {
          e = match_block_end(p, '%');
        } else if (s_[p] == '-' && starts(p + 1, "}}")) {
          e = p + 3 + whitespace_run(s_, p + 3);
        } else if (starts(p, "}}")) {
          e = p + 2;
        }
        if (e != std::string_view::npos) {
          out_.push_back(Token{block ? TokenType::block_end : TokenType::var_end, uint32_t(p), {}, 0, 0});
          line_starting_ = s_[e - 1] == '\n';
          return e;
        }
      }
      p = lex_token(p, &depth);
    }
  }

  size_t lex_token(size_t p, int* depth) {
    const char c = s_[p];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = p;
      while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
      out_.push_back(Token{TokenType::name, uint32_t(p), std::string(s_.substr(p, e - p)), 0, 0});
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static const char* kOps2[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kOps2) {
      if (starts(p, op)) {
        out_.push_back(Token{TokenType::op, uint32_t(p), op, 0, 0});
        return p + 2;
      }
    }
    if (std::strchr("+-/*%~[](){}><=.:|,;", c) && c != '\0') {
      if (c == '(' || c == '[' || c == '{') ++*depth;
      if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
      out_.push_back(Token{TokenType::op, uint32_t(p), std::string(1, c), 0, 0});
      return p + 1;
    }
    syntax_error(s_, p, fmt::format("unexpected character '{}'", text::py_repr(std::string(1, c)).substr(1, 1)));
  }

  size_t lex_number(size_t p) {
    size_t e = p;
    std::string digits;
    auto take_digits = [&] {
      while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) {
        if (s_[e] != '_') digits += s_[e];
        ++e;
      }
    };
    take_digits();
    bool is_float = false;
    if (e + 1 < s_.size() && s_[e] == '.' && std::isdigit(static_cast<unsigned char>(s_[e + 1]))) {
      is_float = true;
      digits += '.';
      ++e;
      take_digits();
    }
    if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
      size_t q = e + 1;
      if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
      if (q < s_.size() && std::isdigit(static_cast<unsigned char>(s_[q]))) {
        is_float = true;
        digits += 'e';
        digits.append(s_.substr(e + 1, q - e - 1));
        e = q;
        take_digits();
      }
    }
    Token t{is_float ? TokenType::floating : TokenType::integer, uint32_t(p), digits, 0, 0};
    try {
      if (is_float) {
        t.fval = std::stod(digits);
      } else {
        t.ival = std::stoll(digits);
      }
    } catch (const std::exception&) {
      syntax_error(s_, p, fmt::format("number '{}' out of range", digits));
    }
    out_.push_back(std::move(t));
    return e;
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // A quoted literal with Python's escapes (\n \t \xhh \uXXXX \UXXXXXXXX octal ...); unknown
  // escapes keep their backslash.
  size_t lex_string(size_t p) {
    const char q = s_[p];
    std::string v;
    size_t i = p + 1;
    while (true) {
      if (i >= s_.size()) syntax_error(s_, p, "unterminated string literal");
      const char c = s_[i];
      if (c == q) break;
      if (c != '\\') {
        v += c;
        ++i;
        continue;
      }
      if (i + 1 >= s_.size()) syntax_error(s_, p, "unterminated string literal");
      const char e = s_[i + 1];
      i += 2;
      switch (e) {
        case '\n': break;
        case '\\': v += '\\'; break;
        case '\'': v += '\''; break;
        case '"': v += '"'; break;
        case 'a': v += '\a'; break;
        case 'b': v += '\b'; break;
        case 'f': v += '\f'; break;
        case 'n': v += '\n'; break;
        case 'r': v += '\r'; break;
        case 't': v += '\t'; break;
        case 'v': v += '\v'; break;
        case 'x': case 'u': case 'U': {
          const int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            const int h = i + size_t(k) < s_.size() ? hex_value(s_[i + size_t(k)]) : -1;
            if (h < 0) syntax_error(s_, i - 2, fmt::format("truncated \\{} escape in string literal", e));
            cp = cp * 16 + uint32_t(h);
          }
          if (cp > 0x10FFFF) syntax_error(s_, i - 2, "escape beyond U+10FFFF in string literal");
          text::append_utf8(v, char32_t(cp));
          i += size_t(n);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = uint32_t(e - '0');
            for (int k = 0; k < 2 && i < s_.size() && s_[i] >= '0' && s_[i] <= '7'; ++k) cp = cp * 8 + uint32_t(s_[i++] - '0');
            text::append_utf8(v, char32_t(cp));
          } else {
            v += '\\';
            v += e;
          }
      }
    }
    out_.push_back(Token{TokenType::string, uint32_t(p), std::move(v), 0, 0});
    return i + 1;
  }

  std::string_view s_;
  const Options& opt_;
  std::vector<Token> out_;
  bool line_starting_ = true;
};

}  // namespace

std::vector<Token> lex(std::string_view src, const Options& opt) { return Lexer(src, opt).run(); }

}  // namespace slm::jinja
