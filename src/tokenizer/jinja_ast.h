// Jinja syntax tree: expressions and statements, as produced by the parser and walked by the evaluator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_value.h"

namespace slm::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind : uint8_t {
    literal,   // value
    name,      // name
    list,      // args = elements (name "tuple" for tuple literals)
    dict,      // args = key0, value0, key1, value1, ...
    getattr,   // args[0].name
    getitem,   // args[0][args[1]]
    slice,     // args[0][args[1]:args[2]:args[3]] (null = omitted)
    call,      // args[0](args[1..], kwargs)
    filter,    // args[0] | name(args[1..], kwargs)
    test,      // args[0] is [not] name(args[1..], kwargs)
    neg, pos, not_,  // args[0]
    and_, or_,       // args[0], args[1] (short-circuit)
    binary,    // args[0] <name> args[1]; name in + - * / // % ** ~
    compare,   // args[0] ops[0] args[1] ops[1] args[2] ... (Python chaining)
    cond,      // args[1] if args[0] else args[2] (null else = undefined)
  };
  Kind kind = Kind::literal;
  uint16_t height = 1;  // 1 + the tallest child
  uint32_t pos = 0;
  Value value;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Node;
using Body = std::vector<Node>;

struct Node {
  enum class Kind : uint8_t {
    text,       // text
    output,     // {{ expr }}
    if_,        // expr, body, else_body (elif = nested if_ in else_body)
    for_,       // names in expr [if cond], body, else_body
    set,        // names = expr, or names[0].attr = expr
    set_block,  // {% set names[0] %}body{% endset %}
    macro,      // names[0](params) body
    filter_block,  // {% filter <filter_expr> %}body: expr is a filter chain over an empty slot
    break_, continue_,
    scope,      // a plain body ({% generation %})
  };
  Kind kind = Kind::text;
  uint32_t pos = 0;
  std::string text;
  std::string attr;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::string> names;
  std::vector<std::pair<std::string, ExprPtr>> params;
  Body body, else_body;
};

// Parses normalised source; throws slm::Error "[jinja] line L col C: ..." on bad syntax.
Body parse(std::string_view src, const Options& opt);

}  // namespace slm::jinja
