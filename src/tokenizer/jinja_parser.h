// Jinja parser internals: the recursive-descent Parser shared by jinja_parser.cc (statements) and
// jinja_parser_expr.cc (expressions).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja_ast.h"

namespace slm::jinja {

class Parser {
 public:
  static constexpr int kMaxNesting = 300;  // parser recursion (blocks, parentheses, unary chains)
  static constexpr int kMaxHeight = 400;   // height of one expression tree (long operator chains)

  Parser(std::string_view src, std::vector<Token> toks) : src_(src), t_(std::move(toks)) {}

  Body parse_template() {
    std::string end;
    return parse_body({}, &end);
  }

 private:
  // --- token helpers ---
  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == TokenType::name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const std::string& msg) const { syntax_error(src_, cur().pos, msg); }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::data: return "template text";
      case TokenType::var_begin: return "'{{'";
      case TokenType::var_end: return "'}}'";
      case TokenType::block_begin: return "'{%'";
      case TokenType::block_end: return "'%}'";
      case TokenType::eof: return "end of template";
      case TokenType::string: return "string literal";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(fmt::format("expected '{}', got {}", op, describe(cur())));
  }
  std::string expect_name(const char* what) {
    if (cur().type != TokenType::name) fail(fmt::format("expected {}, got {}", what, describe(cur())));
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_block_end() {
    if (cur().type != TokenType::block_end) fail(fmt::format("expected end of statement '%}}', got {}", describe(cur())));
    next();
  }
  struct DepthGuard {
    DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxNesting) p_.fail(fmt::format("template nested deeper than {} levels", kMaxNesting));
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  // Checks the height of a finished composite node, so that evaluation and destruction stay shallow.
  ExprPtr seal(ExprPtr e) {
    int h = 0;
    for (const auto& a : e->args)
      if (a) h = std::max(h, int(a->height));
    for (const auto& kv : e->kwargs) h = std::max(h, int(kv.second->height));
    if (h + 1 > kMaxHeight) syntax_error(src_, e->pos, fmt::format("expression nested deeper than {} levels", kMaxHeight));
    e->height = uint16_t(h + 1);
    return e;
  }

  ExprPtr make(Expr::Kind k, uint32_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = pos;
    return e;
  }


  // --- statements (jinja_parser.cc) ---
  // Parses nodes until a block tag named in `ends` (its name is consumed and stored in *end) or eof.
  Body parse_body(std::initializer_list<const char*> ends, std::string* end);
  Node parse_statement();
  Node parse_if(Node n);
  Node parse_for(Node n);
  Node parse_set(Node n);
  Node parse_macro(Node n);
  Node parse_filter_block(Node n);

  // --- expressions (jinja_parser_expr.cc); jinja2 precedence: condexpr < or < and < not < compare <
  // +,- < ~ < *,/,//,% < ** < unary ---
  ExprPtr parse_tuple(bool with_condexpr = true);
  ExprPtr parse_expression();
  ExprPtr parse_binary_chain(Expr::Kind k, const char* word, ExprPtr (Parser::*sub)());
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr binary(const std::string& op, uint32_t pos, ExprPtr a, ExprPtr b);
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr obj);
  // "(" args ")" into e->args (after any already there) and e->kwargs.
  void parse_call_args(Expr& e);
  ExprPtr parse_call(ExprPtr callee);
  // name ["(" args ")"] applied to `input` (null inside {% filter %}).
  ExprPtr parse_filter(ExprPtr input);
  ExprPtr parse_filter_expr(ExprPtr node);

  std::string_view src_;
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace slm::jinja
