// A recursive-descent parser for the regex subset, producing IR directly.
#include "runtime/constrained/pattern.h"

#include <string>

#include "core/error.h"

namespace slm::constrained {
namespace {

constexpr int kMaxRepeat = 1000;  // {n,m} bounds above this are refused (automaton size)
constexpr int kMaxNesting = 64;

CodepointSet digits() { return CodepointSet::range('0', '9'); }
CodepointSet word() {
  CodepointSet s = CodepointSet::range('a', 'z');
  s.add('A', 'Z');
  s.add('0', '9');
  s.add('_', '_');
  return s;
}
CodepointSet space() {  // ECMA-262 WhiteSpace + LineTerminator
  CodepointSet s = CodepointSet::range(9, 13);
  for (uint32_t c : {0x20u, 0xA0u, 0x1680u, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u, 0xFEFFu}) s.add(c, c);
  s.add(0x2000, 0x200A);
  return s;
}
CodepointSet dot() {
  CodepointSet s;
  for (uint32_t c : {0x0Au, 0x0Du, 0x2028u, 0x2029u}) s.add(c, c);
  return s.complement();
}

class Parser {
 public:
  Parser(std::u32string p, CharEncoding enc, std::string_view ctx, std::string_view text)
      : p_(std::move(p)), enc_(enc), ctx_(ctx), text_(text) {}

  ExprPtr parse(bool search) {
    std::vector<ExprPtr> alts;
    do {
      const bool anchored_start = eat('^');
      ExprPtr body = sequence(0, /*top=*/true);
      const bool anchored_end = anchored_end_;
      anchored_end_ = false;
      if (search) {
        const ExprPtr any = ir_star(leaf(CodepointSet::all()));
        body = ir_seq({anchored_start ? ir_empty() : any, body, anchored_end ? ir_empty() : any});
      }
      alts.push_back(body);
    } while (eat('|'));
    if (pos_ != p_.size()) error("unbalanced ')'");
    return ir_alt(std::move(alts));
  }

 private:
  [[noreturn]] void error(std::string_view what) { fail("{}: {} in pattern '{}'", ctx_, what, text_); }
  bool at_end() const { return pos_ >= p_.size(); }
  char32_t peek() const { return at_end() ? 0 : p_[pos_]; }
  bool eat(char32_t c) {
    if (!at_end() && p_[pos_] == c) return ++pos_, true;
    return false;
  }
  ExprPtr leaf(const CodepointSet& s) { return enc_ == CharEncoding::json ? ir_json_char(s) : ir_utf8(s); }

  ExprPtr alternation(int depth) {
    std::vector<ExprPtr> alts{sequence(depth, false)};
    while (eat('|')) alts.push_back(sequence(depth, false));
    return ir_alt(std::move(alts));
  }

  ExprPtr sequence(int depth, bool top) {
    std::vector<ExprPtr> items;
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        ++pos_;
        if (top && (at_end() || peek() == '|')) {
          anchored_end_ = true;
          break;
        }
        error("unsupported regex syntax '$' (an anchor inside the pattern)");
      }
      if (peek() == '^') error("unsupported regex syntax '^' (an anchor inside the pattern)");
      ExprPtr atom = this->atom(depth);
      items.push_back(quantified(std::move(atom)));
    }
    return ir_seq(std::move(items));
  }

  ExprPtr quantified(ExprPtr atom) {
    for (;;) {
      int lo, hi;
      if (eat('*')) {
        lo = 0, hi = -1;
      } else if (eat('+')) {
        lo = 1, hi = -1;
      } else if (eat('?')) {
        lo = 0, hi = 1;
      } else if (peek() == '{') {
        braces(lo, hi);
      } else {
        return atom;
      }
      eat('?');  // lazy: the same language
      if (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{') error("nothing to repeat");
      atom = ir_repeat(std::move(atom), lo, hi);
    }
  }

  int number() {
    if (at_end() || peek() < '0' || peek() > '9') error("invalid quantifier");
    long v = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + long(p_[pos_++] - '0');
      if (v > kMaxRepeat) error(fmt::format("repeat count above {} (unsupported)", kMaxRepeat));
    }
    return int(v);
  }

  void braces(int& lo, int& hi) {
    ++pos_;  // '{'
    lo = number();
    hi = lo;
    if (eat(',')) hi = peek() == '}' ? -1 : number();
    if (!eat('}')) error("invalid quantifier");
    if (hi >= 0 && hi < lo) error("quantifier {n,m} with m < n");
  }

  ExprPtr atom(int depth) {
    const char32_t c = p_[pos_++];
    switch (c) {
      case '.': return leaf(dot());
      case '[': return leaf(char_class());
      case '(': return group(depth);
      case '\\': {
        CodepointSet s;
        escape(s, false);
        return leaf(s);
      }
      case '*': case '+': case '?': error("nothing to repeat");
      case '{': error("invalid quantifier");
      case ']': case '}': return leaf(CodepointSet::single(c));
      default: return leaf(CodepointSet::single(c));
    }
  }

  ExprPtr group(int depth) {
    if (depth >= kMaxNesting) error("groups nested too deeply");
    if (eat('?')) {
      if (eat(':')) {
      } else if (peek() == '<' && pos_ + 1 < p_.size() && p_[pos_ + 1] != '=' && p_[pos_ + 1] != '!') {
        while (!at_end() && peek() != '>') ++pos_;  // a named group is a plain group here
        if (!eat('>')) error("unterminated group name");
      } else {
        error("unsupported regex syntax '(?' (lookaround or inline flags)");
      }
    }
    ExprPtr e = alternation(depth + 1);
    if (!eat(')')) error("missing ')'");
    return e;
  }

  uint32_t hex(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      if (at_end()) error("truncated escape");
      const char32_t c = p_[pos_++];
      int d = c >= '0' && c <= '9' ? int(c - '0') : c >= 'a' && c <= 'f' ? int(c - 'a' + 10)
            : c >= 'A' && c <= 'F' ? int(c - 'A' + 10) : -1;
      if (d < 0) error("invalid hex escape");
      v = v * 16 + uint32_t(d);
    }
    return v;
  }

  // After a backslash: adds the escaped class or character to s; returns false for class escapes
  // (which cannot end a range).
  bool escape(CodepointSet& s, bool in_class) {
    if (at_end()) error("trailing backslash");
    const char32_t c = p_[pos_++];
    switch (c) {
      case 'd': s.add(digits()); return false;
      case 'D': s.add(digits().complement()); return false;
      case 'w': s.add(word()); return false;
      case 'W': s.add(word().complement()); return false;
      case 's': s.add(space()); return false;
      case 'S': s.add(space().complement()); return false;
      case 'n': s.add(10, 10); return true;
      case 'r': s.add(13, 13); return true;
      case 't': s.add(9, 9); return true;
      case 'f': s.add(12, 12); return true;
      case 'v': s.add(11, 11); return true;
      case '0':
        if (!at_end() && peek() >= '0' && peek() <= '9') error("unsupported regex syntax '\\0' followed by a digit");
        s.add(0, 0);
        return true;
      case 'x': {
        const uint32_t v = hex(2);
        s.add(v, v);
        return true;
      }
      case 'u': {
        uint32_t v = hex(4);
        if (v >= 0xD800 && v <= 0xDBFF && pos_ + 1 < p_.size() && p_[pos_] == '\\' && p_[pos_ + 1] == 'u') {
          pos_ += 2;
          const uint32_t lo = hex(4);
          if (lo < 0xDC00 || lo > 0xDFFF) error("unpaired surrogate escape");
          v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        } else if (v >= 0xD800 && v <= 0xDFFF) {
          error("unpaired surrogate escape");
        }
        s.add(v, v);
        return true;
      }
      case 'b':
        if (in_class) {
          s.add(8, 8);
          return true;
        }
        error("unsupported regex syntax '\\b' (word boundary)");
      case 'B': error("unsupported regex syntax '\\B' (word boundary)");
      case 'p': case 'P': error("unsupported regex syntax '\\p' (Unicode property)");
      case 'c': error("unsupported regex syntax '\\c' (control escape)");
      case 'k': error("unsupported regex syntax '\\k' (named backreference)");
      default:
        if (c >= '1' && c <= '9') error("unsupported regex syntax (backreference)");
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
          error(fmt::format("unsupported regex escape '\\{}'", char(c)));
        }
        s.add(c, c);  // escaped punctuation stands for itself
        return true;
    }
  }

  CodepointSet char_class() {
    const bool negate = eat('^');
    CodepointSet s;
    bool first = true;
    while (!at_end() && (peek() != ']' || false)) {
      if (peek() == ']' && !first) break;
      if (peek() == ']' && first) break;  // "[]" matches nothing (ECMA)
      first = false;
      CodepointSet one;
      bool single = true;
      uint32_t lo;
      const char32_t c = p_[pos_++];
      if (c == '\\') {
        single = escape(one, true);
      } else {
        if (c == '[' && !at_end() && (peek() == ':' || peek() == '=' || peek() == '.')) {
          error("unsupported regex syntax '[:' (POSIX class)");
        }
        one.add(c, c);
      }
      lo = single ? one.ranges()[0].first : 0;
      if (single && peek() == '-' && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        ++pos_;
        CodepointSet two;
        bool single2 = true;
        const char32_t d = p_[pos_++];
        if (d == '\\') {
          single2 = escape(two, true);
        } else {
          two.add(d, d);
        }
        if (!single2) error("class escape as a range end");
        const uint32_t hi = two.ranges()[0].first;
        if (hi < lo) error("range out of order in character class");
        s.add(lo, hi);
        continue;
      }
      s.add(one);
    }
    if (!eat(']')) error("missing ']'");
    return negate ? s.complement() : s;
  }

  std::u32string p_;
  CharEncoding enc_;
  std::string_view ctx_, text_;
  size_t pos_ = 0;
  bool anchored_end_ = false;
};

}  // namespace

std::u32string decode_utf8(std::string_view s, std::string_view context) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = uint8_t(s[i]);
    int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + size_t(n) > s.size()) fail("{}: invalid UTF-8", context);
    uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < n; ++k) {
      const auto c = uint8_t(s[i + size_t(k)]);
      if ((c >> 6) != 2) fail("{}: invalid UTF-8", context);
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("{}: invalid UTF-8", context);
    out += char32_t(cp);
    i += size_t(n);
  }
  return out;
}

ExprPtr compile_pattern(std::string_view pattern, bool search, CharEncoding enc, std::string_view context) {
  Parser p(decode_utf8(pattern, context), enc, context, pattern);
  return p.parse(search);
}

}  // namespace slm::constrained
