// JSON value expressions: whitespace, free-form values, strings, numbers with bounds, formats.
#include "runtime/constrained/json_values.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "runtime/constrained/pattern.h"

namespace slm::constrained {
namespace {

ExprPtr digit() { return ir_byte_range('0', '9'); }
ExprPtr digits(int n) { return ir_repeat(digit(), n, n); }

// Non-negative integers from lo to hi, both written with n digits (lo <= hi, same length).
ExprPtr same_len(std::string_view lo, std::string_view hi) {
  if (lo.empty()) return ir_empty();
  const size_t n = lo.size();
  if (lo[0] == hi[0]) return ir_seq({ir_byte(uint8_t(lo[0])), same_len(lo.substr(1), hi.substr(1))});
  const std::string nines(n - 1, '9'), zeros(n - 1, '0');
  if (lo.substr(1) == zeros && hi.substr(1) == nines) {
    return ir_seq({ir_byte_range(uint8_t(lo[0]), uint8_t(hi[0])), digits(int(n - 1))});
  }
  std::vector<ExprPtr> alts{ir_seq({ir_byte(uint8_t(lo[0])), same_len(lo.substr(1), nines)})};
  if (lo[0] + 1 <= hi[0] - 1) {
    alts.push_back(ir_seq({ir_byte_range(uint8_t(lo[0] + 1), uint8_t(hi[0] - 1)), digits(int(n - 1))}));
  }
  alts.push_back(ir_seq({ir_byte(uint8_t(hi[0])), same_len(zeros, hi.substr(1))}));
  return ir_alt(std::move(alts));
}

constexpr uint64_t kInf = ~uint64_t(0);
// Integer parts have at most 19 digits and exponents at most 2, so that every number fits a double
// (a JSON parser may refuse 1e400) and an unbounded number cannot run on forever.
constexpr int kMaxDigits = 19;
constexpr int kMaxExpDigits = 2;

// Decimal integers without leading zeros from a to b (b == kInf: unbounded).
ExprPtr uint_range(uint64_t a, uint64_t b) {
  const bool bounded = b != kInf;
  if (a > b) return ir_fail();
  const std::string as = std::to_string(a);
  const size_t la = as.size(), lb = bounded ? std::to_string(b).size() : 0;
  std::vector<ExprPtr> alts;
  const size_t last = bounded ? lb : la;
  for (size_t len = la; len <= last; ++len) {
    std::string lo = as;
    if (len != la) lo.assign(len, '0'), lo[0] = '1';
    const std::string hi = bounded && len == lb ? std::to_string(b) : std::string(len, '9');
    alts.push_back(same_len(lo, hi));
  }
  if (!bounded && la < kMaxDigits) {
    alts.push_back(ir_seq({ir_byte_range('1', '9'), ir_repeat(digit(), int(la), kMaxDigits - 1)}));
  }
  return ir_alt(std::move(alts));
}

constexpr double kMaxExact = 9007199254740992.0;  // 2^53

void check_bound(double v, std::string_view context) {
  if (!std::isfinite(v) || std::fabs(v) > kMaxExact) fail("{}: bound {} out of the supported range", context, v);
}

enum Frac : uint8_t { kZero = 1, kNonzero = 2, kAny = 3 };

ExprPtr fraction(uint8_t kinds) {
  const ExprPtr dot = ir_byte('.');
  switch (kinds) {
    case kAny: return ir_opt(ir_seq({dot, ir_plus(digit())}));
    case kZero: return ir_opt(ir_seq({dot, ir_plus(ir_byte('0'))}));
    case kNonzero: return ir_seq({dot, ir_star(digit()), ir_byte_range('1', '9'), ir_star(digit())});
    default: return ir_fail();
  }
}

// Magnitudes x = I + f >= 0 (I integer, f in [0, 1)) within integral bounds, as integer-part ranges
// with the fraction kinds each allows. Bounds here are already integral int64.
struct IntBound {
  int64_t v;
  bool excl;
};
ExprPtr magnitudes(std::optional<IntBound> lo, std::optional<IntBound> hi) {
  // Fraction kinds allowed at integer part I by each bound.
  auto lo_kinds = [&](int64_t i) -> uint8_t {
    if (!lo) return kAny;
    if (i > lo->v) return kAny;
    if (i == lo->v) return lo->excl ? kNonzero : kAny;
    return 0;
  };
  auto hi_kinds = [&](int64_t i) -> uint8_t {
    if (!hi) return kAny;
    if (i < hi->v) return kAny;
    if (i == hi->v) return hi->excl ? 0 : kZero;
    return 0;
  };
  // The integer line splits at the bounds into at most five stretches of equal behaviour.
  std::vector<int64_t> cuts{0};
  for (auto b : {lo, hi}) {
    if (b && b->v >= 0) cuts.push_back(b->v), cuts.push_back(b->v + 1);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<ExprPtr> alts;
  for (size_t k = 0; k < cuts.size(); ++k) {
    const int64_t a = cuts[k];
    const uint64_t b = k + 1 < cuts.size() ? uint64_t(cuts[k + 1] - 1) : kInf;
    const uint8_t kinds = lo_kinds(a) & hi_kinds(a);
    if (kinds) alts.push_back(ir_seq({uint_range(uint64_t(a), b), fraction(kinds)}));
  }
  return ir_alt(std::move(alts));
}

}  // namespace

ExprPtr json_ws(int max_ws) { return ir_repeat(ir_byte_set([] {
                                                 std::bitset<256> s;
                                                 for (char c : {' ', '\t', '\n', '\r'}) s.set(uint8_t(c));
                                                 return s;
                                               }()),
                                               0, max_ws); }

ExprPtr json_string(int min_len, int max_len) {
  return ir_seq({ir_byte('"'), ir_repeat(ir_json_char(CodepointSet::all()), min_len, max_len), ir_byte('"')});
}

ExprPtr json_integer() {
  return ir_seq({ir_opt(ir_byte('-')),
                 ir_alt({ir_byte('0'), ir_seq({ir_byte_range('1', '9'), ir_repeat(digit(), 0, kMaxDigits - 1)})})});
}

ExprPtr json_number() {
  const ExprPtr frac = ir_opt(ir_seq({ir_byte('.'), ir_plus(digit())}));
  const ExprPtr exp = ir_opt(ir_seq({ir_byte_set([] {
                                       std::bitset<256> s;
                                       s.set('e'), s.set('E');
                                       return s;
                                     }()),
                                     ir_opt(ir_alt({ir_byte('+'), ir_byte('-')})), ir_repeat(digit(), 1, kMaxExpDigits)}));
  return ir_seq({json_integer(), frac, exp});
}

ExprPtr json_any_value(int depth, int max_ws) {
  std::vector<ExprPtr> alts{json_string(0, -1), json_number(), ir_literals({"true", "false", "null"})};
  if (depth > 0) {
    const ExprPtr inner = json_any_value(depth - 1, max_ws);
    const ExprPtr ws = json_ws(max_ws);
    const ExprPtr sep = ir_seq({ws, ir_byte(','), ws});
    alts.push_back(ir_seq({ir_byte('['), ws, ir_list(inner, sep, 0, -1), ws, ir_byte(']')}));
    const ExprPtr member = ir_seq({json_string(0, -1), ws, ir_byte(':'), ws, inner});
    alts.push_back(ir_seq({ir_byte('{'), ws, ir_list(member, sep, 0, -1), ws, ir_byte('}')}));
  }
  return ir_alt(std::move(alts));
}

ExprPtr json_any_object(int depth, int max_ws) {
  const ExprPtr inner = json_any_value(std::max(depth - 1, 0), max_ws);
  const ExprPtr ws = json_ws(max_ws);
  const ExprPtr sep = ir_seq({ws, ir_byte(','), ws});
  const ExprPtr member = ir_seq({json_string(0, -1), ws, ir_byte(':'), ws, inner});
  return ir_seq({ir_byte('{'), ws, ir_list(member, sep, 0, -1), ws, ir_byte('}')});
}

ExprPtr json_integer_range(std::optional<NumBound> lo, std::optional<NumBound> hi, std::string_view context) {
  // Integers v with lo <= v <= hi after rounding the bounds inwards.
  std::optional<int64_t> a, b;
  if (lo) {
    check_bound(lo->value, context);
    a = int64_t(lo->exclusive ? std::floor(lo->value) + 1 : std::ceil(lo->value));
  }
  if (hi) {
    check_bound(hi->value, context);
    b = int64_t(hi->exclusive ? std::ceil(hi->value) - 1 : std::floor(hi->value));
  }
  std::vector<ExprPtr> alts;
  // v >= 0: magnitude in [max(a, 0), b]; v <= 0 written "-m": m in [max(-b, 0), -a].
  if (!b || *b >= 0) alts.push_back(uint_range(uint64_t(std::max<int64_t>(a.value_or(0), 0)), b ? uint64_t(*b) : kInf));
  if (!a || *a <= 0) {
    const uint64_t m_lo = uint64_t(std::max<int64_t>(b ? -*b : 0, 0));
    const uint64_t m_hi = a ? uint64_t(-*a) : kInf;
    alts.push_back(ir_seq({ir_byte('-'), uint_range(m_lo, m_hi)}));
  }
  return ir_alt(std::move(alts));
}

ExprPtr json_number_range(std::optional<NumBound> lo, std::optional<NumBound> hi, std::string_view context) {
  std::optional<IntBound> l, h;
  for (auto [in, out] : {std::pair{&lo, &l}, std::pair{&hi, &h}}) {
    if (!*in) continue;
    check_bound((*in)->value, context);
    if (std::floor((*in)->value) != (*in)->value) {
      fail("{}: a non-integral bound ({}) on a number is not supported", context, (*in)->value);
    }
    *out = IntBound{int64_t((*in)->value), (*in)->exclusive};
  }
  // v = x >= 0 needs lo <= x <= hi; v = -x needs -hi <= x <= -lo (exclusivity carries over).
  const auto neg = [](std::optional<IntBound> b) {
    return b ? std::optional<IntBound>(IntBound{-b->v, b->excl}) : std::nullopt;
  };
  return ir_alt({magnitudes(l, h), ir_seq({ir_byte('-'), magnitudes(neg(h), neg(l))})});
}

ExprPtr json_format_body(std::string_view format, std::string_view context) {
  static const std::string kDate =
      "(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|"
      "02-(?:0[1-9]|1\\d|2[0-8]))|(?:\\d\\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
      "-02-29)";
  static const std::string kTime =
      "(?:(?:[01]\\d|2[0-3]):[0-5]\\d:(?:[0-5]\\d|60)(?:\\.\\d+)?(?:[Zz]|[+-](?:[01]\\d|2[0-3]):[0-5]\\d))";
  std::string re;
  if (format == "date") {
    re = kDate;
  } else if (format == "time") {
    re = kTime;
  } else if (format == "date-time") {
    re = kDate + "[Tt]" + kTime;
  } else if (format == "uuid") {
    re = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  } else if (format == "ipv4") {
    re = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}";
  } else {
    fail("{}: unsupported format '{}' (supported: date, time, date-time, uuid, ipv4)", context, format);
  }
  return compile_pattern(re, false, CharEncoding::json, context);
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = uint8_t(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

}  // namespace slm::constrained
