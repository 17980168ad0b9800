// The language IR every constraint compiles through: byte sets, sequences, alternatives, repeats and
// separated lists over bytes, plus the code point functions (UTF-8 encoding of code point sets, JSON
// string characters) that regex and schema compilation share.
#pragma once

#include "core/utf8.h"

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slm::constrained {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

// A node of the IR. Nodes are immutable and may be shared (a DAG); compiling a shared node twice makes
// two copies of its automaton, which is what a repeat or a nested value needs.
struct Expr {
  enum class Kind : uint8_t {
    fail,    // matches nothing
    empty,   // matches the empty string
    bytes,   // one byte from `set`
    seq,     // kids in order
    alt,     // any one of kids
    repeat,  // kids[0] between min and max times (max < 0: unbounded)
    list,    // kids[0] (kids[1] kids[0])*, with min..max items (max < 0: unbounded); kids[0] compiled once
             // when unbounded, so nested lists stay linear in size
    members,  // kids[0] is the separator, kids[1..n] items in order, each optional unless required[i-1];
              // separators only between present items (object properties); each item compiled once
    intersect,  // strings both kids[0] and kids[1] match (product automaton)
  } kind = Kind::fail;
  std::bitset<256> set;
  std::vector<ExprPtr> kids;
  std::vector<uint8_t> required;  // members
  int min = 0, max = 0;
};

ExprPtr ir_fail();
ExprPtr ir_empty();
ExprPtr ir_byte(uint8_t b);
ExprPtr ir_byte_range(uint8_t lo, uint8_t hi);
ExprPtr ir_byte_set(const std::bitset<256>& set);
ExprPtr ir_literal(std::string_view bytes);
ExprPtr ir_seq(std::vector<ExprPtr> kids);
ExprPtr ir_alt(std::vector<ExprPtr> kids);
ExprPtr ir_repeat(ExprPtr x, int min, int max);
ExprPtr ir_opt(ExprPtr x);
ExprPtr ir_star(ExprPtr x);
ExprPtr ir_plus(ExprPtr x);
ExprPtr ir_list(ExprPtr item, ExprPtr sep, int min, int max);
// Items in order with `sep` between those present; required[i] says whether items[i] must be present.
ExprPtr ir_members(std::vector<ExprPtr> items, std::vector<uint8_t> required, ExprPtr sep);
// Strings in both languages.
ExprPtr ir_intersect(ExprPtr a, ExprPtr b);
// Union of literal strings, as a byte trie (shared prefixes are matched once).
ExprPtr ir_literals(const std::vector<std::string>& words);

// A set of Unicode scalar values as sorted, disjoint, non-adjacent inclusive ranges. Surrogates
// (U+D800..U+DFFF) are never members.
class CodepointSet {
 public:
  static constexpr uint32_t kMax = 0x10FFFF;
  CodepointSet() = default;
  static CodepointSet all();
  static CodepointSet single(uint32_t cp) { return range(cp, cp); }
  static CodepointSet range(uint32_t lo, uint32_t hi);
  void add(uint32_t lo, uint32_t hi);
  void add(const CodepointSet& o);
  CodepointSet complement() const;
  CodepointSet intersect(const CodepointSet& o) const;
  CodepointSet minus(const CodepointSet& o) const { return intersect(o.complement()); }
  bool contains(uint32_t cp) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<std::pair<uint32_t, uint32_t>>& ranges() const { return ranges_; }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
};

// The UTF-8 encodings of the members of `s`, as one byte-level expression.
ExprPtr ir_utf8(const CodepointSet& s);
// One JSON string character from `s` as it may be written inside quotes: raw UTF-8 for everything but
// '"', '\\' and controls; "\\\"", "\\\\", "\\/" and the short escapes (\b \f \n \r \t); "\\u00XX"
// (either hex case) for controls. Other \u escapes are not produced (the escape policy).
ExprPtr ir_json_char(const CodepointSet& s);

// Appends the UTF-8 encoding of cp (a scalar value) to out.
using ::slm::utf8_append;

}  // namespace slm::constrained
