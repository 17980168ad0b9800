// The language IR: node builders, code point sets and their UTF-8 / JSON-string encodings.
#include "runtime/constrained/ir.h"

#include <algorithm>
#include <map>

namespace slm::constrained {
namespace {

ExprPtr make(Expr::Kind k) {
  auto e = std::make_shared<Expr>();
  e->kind = k;
  return e;
}

constexpr uint32_t kSurLo = 0xD800, kSurHi = 0xDFFF;

// Byte ranges of one UTF-8 encoded range whose ends have the same length and agree on all but the
// trailing bytes, so that each byte position is an independent range.
ExprPtr utf8_seq(uint32_t lo, uint32_t hi) {
  std::string a, b;
  utf8_append(a, lo);
  utf8_append(b, hi);
  std::vector<ExprPtr> parts;
  for (size_t i = 0; i < a.size(); ++i) parts.push_back(ir_byte_range(uint8_t(a[i]), uint8_t(b[i])));
  return ir_seq(std::move(parts));
}

int utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// Splits [lo, hi] (same encoded length) until every piece is a product of byte ranges.
void utf8_split(uint32_t lo, uint32_t hi, std::vector<ExprPtr>& out) {
  const int n = utf8_len(lo);
  for (int i = 1; i < n; ++i) {
    const uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        utf8_split(lo, lo | m, out);
        utf8_split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        utf8_split(lo, (hi & ~m) - 1, out);
        utf8_split(hi & ~m, hi, out);
        return;
      }
    }
  }
  out.push_back(utf8_seq(lo, hi));
}

}  // namespace

ExprPtr ir_fail() {
  static const ExprPtr e = make(Expr::Kind::fail);
  return e;
}
ExprPtr ir_empty() {
  static const ExprPtr e = make(Expr::Kind::empty);
  return e;
}
ExprPtr ir_byte_set(const std::bitset<256>& set) {
  if (set.none()) return ir_fail();
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::bytes;
  e->set = set;
  return e;
}
ExprPtr ir_byte_range(uint8_t lo, uint8_t hi) {
  std::bitset<256> s;
  for (int b = lo; b <= hi; ++b) s.set(size_t(b));
  return ir_byte_set(s);
}
ExprPtr ir_byte(uint8_t b) { return ir_byte_range(b, b); }

ExprPtr ir_literal(std::string_view bytes) {
  std::vector<ExprPtr> kids;
  for (char c : bytes) kids.push_back(ir_byte(uint8_t(c)));
  return ir_seq(std::move(kids));
}

ExprPtr ir_seq(std::vector<ExprPtr> kids) {
  std::vector<ExprPtr> keep;
  for (auto& k : kids) {
    if (k->kind == Expr::Kind::fail) return ir_fail();
    if (k->kind == Expr::Kind::empty) continue;
    if (k->kind == Expr::Kind::seq) {
      keep.insert(keep.end(), k->kids.begin(), k->kids.end());
    } else {
      keep.push_back(std::move(k));
    }
  }
  if (keep.empty()) return ir_empty();
  if (keep.size() == 1) return keep[0];
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::seq;
  e->kids = std::move(keep);
  return e;
}

ExprPtr ir_alt(std::vector<ExprPtr> kids) {
  std::vector<ExprPtr> keep;
  for (auto& k : kids) {
    if (k->kind != Expr::Kind::fail) keep.push_back(std::move(k));
  }
  if (keep.empty()) return ir_fail();
  if (keep.size() == 1) return keep[0];
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::alt;
  e->kids = std::move(keep);
  return e;
}

ExprPtr ir_repeat(ExprPtr x, int min, int max) {
  if (max >= 0 && max < min) return ir_fail();
  if (max == 0) return ir_empty();
  if (min == 1 && max == 1) return x;
  if (x->kind == Expr::Kind::fail) return min == 0 ? ir_empty() : ir_fail();
  if (x->kind == Expr::Kind::empty) return ir_empty();
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::repeat;
  e->kids = {std::move(x)};
  e->min = min;
  e->max = max;
  return e;
}
ExprPtr ir_opt(ExprPtr x) { return ir_repeat(std::move(x), 0, 1); }
ExprPtr ir_star(ExprPtr x) { return ir_repeat(std::move(x), 0, -1); }
ExprPtr ir_plus(ExprPtr x) { return ir_repeat(std::move(x), 1, -1); }

ExprPtr ir_list(ExprPtr item, ExprPtr sep, int min, int max) {
  if (max >= 0 && max < min) return ir_fail();
  if (max == 0) return ir_empty();
  if (item->kind == Expr::Kind::fail) return min == 0 ? ir_empty() : ir_fail();
  if (sep->kind == Expr::Kind::fail) return ir_repeat(std::move(item), min, std::min(max < 0 ? 1 : max, 1));
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::list;
  e->kids = {std::move(item), std::move(sep)};
  e->min = min;
  e->max = max;
  return e;
}

ExprPtr ir_intersect(ExprPtr a, ExprPtr b) {
  if (a->kind == Expr::Kind::fail || b->kind == Expr::Kind::fail) return ir_fail();
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::intersect;
  e->kids = {std::move(a), std::move(b)};
  return e;
}

ExprPtr ir_members(std::vector<ExprPtr> items, std::vector<uint8_t> required, ExprPtr sep) {
  // Optional items that can never match are simply absent; a required one makes the whole fail.
  std::vector<ExprPtr> keep_items;
  std::vector<uint8_t> keep_req;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i]->kind == Expr::Kind::fail) {
      if (required[i]) return ir_fail();
      continue;
    }
    keep_items.push_back(std::move(items[i]));
    keep_req.push_back(required[i]);
  }
  if (keep_items.empty()) return ir_empty();
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::members;
  e->kids.push_back(std::move(sep));
  for (auto& k : keep_items) e->kids.push_back(std::move(k));
  e->required = std::move(keep_req);
  return e;
}

ExprPtr ir_literals(const std::vector<std::string>& words) {
  // Group by first byte, recurse on the tails: a trie as nested alternatives.
  bool has_empty = false;
  std::map<uint8_t, std::vector<std::string>> by_first;
  for (const auto& w : words) {
    if (w.empty()) {
      has_empty = true;
    } else {
      by_first[uint8_t(w[0])].push_back(w.substr(1));
    }
  }
  std::vector<ExprPtr> alts;
  if (has_empty) alts.push_back(ir_empty());
  for (auto& [b, tails] : by_first) {
    // A single word left needs no further branching (and no recursion per byte).
    ExprPtr rest = tails.size() == 1 ? ir_literal(tails[0]) : ir_literals(tails);
    alts.push_back(ir_seq({ir_byte(b), std::move(rest)}));
  }
  return ir_alt(std::move(alts));
}

CodepointSet CodepointSet::all() { return range(0, kMax); }

CodepointSet CodepointSet::range(uint32_t lo, uint32_t hi) {
  CodepointSet s;
  s.add(lo, hi);
  return s;
}

void CodepointSet::add(uint32_t lo, uint32_t hi) {
  hi = std::min(hi, kMax);
  if (lo > hi) return;
  if (lo <= kSurHi && hi >= kSurLo) {  // cut the surrogates out
    if (lo < kSurLo) add(lo, kSurLo - 1);
    if (hi > kSurHi) add(kSurHi + 1, hi);
    return;
  }
  ranges_.emplace_back(lo, hi);
  std::sort(ranges_.begin(), ranges_.end());
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& r : ranges_) {
    // Ranges that touch across the surrogate gap stay separate; that is harmless.
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  ranges_ = std::move(merged);
}

void CodepointSet::add(const CodepointSet& o) {
  for (const auto& [lo, hi] : o.ranges_) add(lo, hi);
}

CodepointSet CodepointSet::complement() const {
  CodepointSet out;
  uint32_t next = 0;
  for (const auto& [lo, hi] : ranges_) {
    if (lo > next) out.add(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMax) out.add(next, kMax);
  return out;
}

CodepointSet CodepointSet::intersect(const CodepointSet& o) const {
  CodepointSet out;
  for (const auto& [a, b] : ranges_) {
    for (const auto& [c, d] : o.ranges_) {
      const uint32_t lo = std::max(a, c), hi = std::min(b, d);
      if (lo <= hi) out.add(lo, hi);
    }
  }
  return out;
}

bool CodepointSet::contains(uint32_t cp) const {
  for (const auto& [lo, hi] : ranges_) {
    if (cp >= lo && cp <= hi) return true;
  }
  return false;
}


ExprPtr ir_utf8(const CodepointSet& s) {
  std::vector<ExprPtr> alts;
  std::bitset<256> ascii;
  for (auto [lo, hi] : s.ranges()) {
    for (uint32_t cut : {0x7Fu, 0x7FFu, 0xFFFFu}) {  // split where the encoded length changes
      if (lo <= cut && hi > cut) {
        if (cut == 0x7F) {
          for (uint32_t c = lo; c <= cut; ++c) ascii.set(c);
        } else {
          utf8_split(lo, cut, alts);
        }
        lo = cut + 1;
      }
    }
    if (hi < 0x80) {
      for (uint32_t c = lo; c <= hi; ++c) ascii.set(c);
    } else {
      utf8_split(lo, hi, alts);
    }
  }
  if (ascii.any()) alts.insert(alts.begin(), ir_byte_set(ascii));
  return ir_alt(std::move(alts));
}

ExprPtr ir_json_char(const CodepointSet& s) {
  CodepointSet raw = s.intersect(CodepointSet::range(0x20, CodepointSet::kMax));
  raw = raw.minus(CodepointSet::single('"')).minus(CodepointSet::single('\\'));
  std::vector<ExprPtr> alts{ir_utf8(raw)};
  std::vector<std::string> escapes;
  if (s.contains('"')) escapes.push_back("\\\"");
  if (s.contains('\\')) escapes.push_back("\\\\");
  if (s.contains('/')) escapes.push_back("\\/");
  const std::pair<uint32_t, char> shorts[] = {{8, 'b'}, {12, 'f'}, {10, 'n'}, {13, 'r'}, {9, 't'}};
  for (auto [cp, c] : shorts) {
    if (s.contains(cp)) escapes.push_back(std::string("\\") + c);
  }
  const CodepointSet controls = s.intersect(CodepointSet::range(0, 0x1F));
  if (!controls.empty()) {
    const bool all = controls.ranges().size() == 1 && controls.ranges()[0] == std::pair<uint32_t, uint32_t>{0, 0x1F};
    std::bitset<256> hex;
    for (int c = '0'; c <= '9'; ++c) hex.set(size_t(c));
    for (int c = 'a'; c <= 'f'; ++c) hex.set(size_t(c)), hex.set(size_t(c - 32));
    if (all) {
      alts.push_back(ir_seq({ir_literal("\\u00"), ir_byte_range('0', '1'), ir_byte_set(hex)}));
    } else {
      const char* digits = "0123456789abcdef";
      for (auto [lo, hi] : controls.ranges()) {
        for (uint32_t cp = lo; cp <= hi; ++cp) {
          const char d = digits[cp & 15];
          std::bitset<256> last;
          last.set(uint8_t(d));
          if (d >= 'a') last.set(uint8_t(d - 32));
          alts.push_back(ir_seq({ir_literal("\\u00"), ir_byte(uint8_t('0' + (cp >> 4))), ir_byte_set(last)}));
        }
      }
    }
  }
  alts.push_back(ir_literals(escapes));
  return ir_alt(std::move(alts));
}

}  // namespace slm::constrained
