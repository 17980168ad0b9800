// Jinja parser: token stream -> syntax tree, following jinja2's grammar and operator precedence.
#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>

#include "tokenizer/jinja_ast.h"

namespace slm::jinja {

namespace {

constexpr int kMaxNesting = 300;  // parser recursion (blocks, parentheses, unary chains)
constexpr int kMaxHeight = 400;   // height of one expression tree (long operator chains)

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> toks) : src_(src), t_(std::move(toks)) {}

  Body parse_template() {
    std::string end;
    Body b = parse_body({}, &end);
    return b;
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

  // --- statements ---
  // Parses nodes until a block tag named in `ends` (its name is consumed and stored in *end) or eof.
  Body parse_body(std::initializer_list<const char*> ends, std::string* end) {
    DepthGuard g(*this);
    Body body;
    const uint32_t start = cur().pos;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::eof) {
        if (ends.size() == 0) return body;
        syntax_error(src_, start, fmt::format("unexpected end of template, expected '{}'", *ends.begin()));
      }
      if (t.type == TokenType::data) {
        Node n;
        n.kind = Node::Kind::text;
        n.pos = t.pos;
        n.text = t.text;
        body.push_back(std::move(n));
        next();
      } else if (t.type == TokenType::var_begin) {
        Node n;
        n.kind = Node::Kind::output;
        n.pos = t.pos;
        next();
        n.expr = parse_tuple();
        if (cur().type != TokenType::var_end) fail(fmt::format("expected end of print statement '}}}}', got {}", describe(cur())));
        next();
        body.push_back(std::move(n));
      } else if (t.type == TokenType::block_begin) {
        next();
        if (cur().type != TokenType::name) fail(fmt::format("expected a tag name, got {}", describe(cur())));
        for (const char* e : ends) {
          if (cur().text == e) {
            *end = e;
            next();
            return body;
          }
        }
        body.push_back(parse_statement());
      } else {
        fail(fmt::format("unexpected {}", describe(t)));
      }
    }
  }

  Node parse_statement() {
    const Token& t = cur();
    const std::string tag = t.text;
    Node n;
    n.pos = t.pos;
    next();
    if (tag == "if") return parse_if(std::move(n));
    if (tag == "for") return parse_for(std::move(n));
    if (tag == "set") return parse_set(std::move(n));
    if (tag == "macro") return parse_macro(std::move(n));
    if (tag == "filter") return parse_filter_block(std::move(n));
    if (tag == "break" || tag == "continue") {
      n.kind = tag == "break" ? Node::Kind::break_ : Node::Kind::continue_;
      expect_block_end();
      return n;
    }
    if (tag == "generation") {
      n.kind = Node::Kind::scope;
      expect_block_end();
      std::string end;
      n.body = parse_body({"endgeneration"}, &end);
      expect_block_end();
      return n;
    }
    if (tag.rfind("end", 0) == 0 || tag == "else" || tag == "elif")
      syntax_error(src_, t.pos, fmt::format("unexpected '{}' tag", tag));
    syntax_error(src_, n.pos, fmt::format("unsupported tag '{}'", tag));
  }

  Node parse_if(Node n) {
    n.kind = Node::Kind::if_;
    n.expr = parse_expression();
    expect_block_end();
    std::string end;
    n.body = parse_body({"elif", "else", "endif"}, &end);
    if (end == "elif") {
      Node elif;
      elif.pos = t_[i_ - 1].pos;
      n.else_body.push_back(parse_if(std::move(elif)));
      return n;  // the nested if consumed endif
    }
    if (end == "else") {
      expect_block_end();
      n.else_body = parse_body({"endif"}, &end);
    }
    expect_block_end();
    return n;
  }

  Node parse_for(Node n) {
    n.kind = Node::Kind::for_;
    const bool paren = skip_op("(");
    n.names.push_back(expect_name("a loop variable"));
    while (skip_op(",")) {
      if (is_name("in") || is_op(")")) break;
      n.names.push_back(expect_name("a loop variable"));
    }
    if (paren) expect_op(")");
    if (!skip_name("in")) fail(fmt::format("expected 'in', got {}", describe(cur())));
    n.expr = parse_tuple(/*with_condexpr=*/false);
    if (skip_name("if")) n.cond = parse_expression();
    if (is_name("recursive")) fail("recursive for loops are not supported");
    expect_block_end();
    std::string end;
    n.body = parse_body({"else", "endfor"}, &end);
    if (end == "else") {
      expect_block_end();
      n.else_body = parse_body({"endfor"}, &end);
    }
    expect_block_end();
    return n;
  }

  Node parse_set(Node n) {
    n.kind = Node::Kind::set;
    n.names.push_back(expect_name("a variable name"));
    if (skip_op(".")) {
      n.attr = expect_name("an attribute name");
    } else {
      while (skip_op(",")) n.names.push_back(expect_name("a variable name"));
    }
    if (skip_op("=")) {
      n.expr = parse_tuple();
      expect_block_end();
      return n;
    }
    if (!n.attr.empty() || n.names.size() != 1) fail(fmt::format("expected '=', got {}", describe(cur())));
    if (is_op("|")) fail("filters on {% set %} blocks are not supported");
    n.kind = Node::Kind::set_block;
    expect_block_end();
    std::string end;
    n.body = parse_body({"endset"}, &end);
    expect_block_end();
    return n;
  }

  Node parse_macro(Node n) {
    n.kind = Node::Kind::macro;
    n.names.push_back(expect_name("a macro name"));
    expect_op("(");
    while (!is_op(")")) {
      if (!n.params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string p = expect_name("a parameter name");
      ExprPtr def;
      if (skip_op("=")) def = parse_expression();
      n.params.emplace_back(std::move(p), std::move(def));
    }
    next();
    expect_block_end();
    std::string end;
    n.body = parse_body({"endmacro"}, &end);
    if (cur().type == TokenType::name) next();  // {% endmacro name %}
    expect_block_end();
    return n;
  }

  Node parse_filter_block(Node n) {
    n.kind = Node::Kind::filter_block;
    ExprPtr chain;
    do {
      chain = parse_filter(std::move(chain));
    } while (skip_op("|"));
    n.expr = std::move(chain);
    expect_block_end();
    std::string end;
    n.body = parse_body({"endfilter"}, &end);
    expect_block_end();
    return n;
  }

  // --- expressions (jinja2 precedence: condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary) ---
  ExprPtr parse_tuple(bool with_condexpr = true) {
    const uint32_t pos = cur().pos;
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    auto list = make(Expr::Kind::list, pos);
    list->name = "tuple";
    list->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().type == TokenType::var_end || cur().type == TokenType::block_end || is_name("if")) break;
      list->args.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return seal(std::move(list));
  }

  ExprPtr parse_expression() {
    DepthGuard g(*this);
    const uint32_t pos = cur().pos;
    ExprPtr e = parse_or();
    while (skip_name("if")) {
      auto c = make(Expr::Kind::cond, pos);
      c->args.push_back(parse_or());
      c->args.push_back(std::move(e));
      c->args.push_back(skip_name("else") ? parse_expression() : nullptr);
      e = seal(std::move(c));
    }
    return e;
  }

  ExprPtr parse_binary_chain(Expr::Kind k, const char* word, ExprPtr (Parser::*sub)()) {
    ExprPtr left = (this->*sub)();
    while (is_name(word)) {
      const uint32_t pos = cur().pos;
      next();
      auto b = make(k, pos);
      b->args.push_back(std::move(left));
      b->args.push_back((this->*sub)());
      left = seal(std::move(b));
    }
    return left;
  }
  ExprPtr parse_or() { return parse_binary_chain(Expr::Kind::or_, "or", &Parser::parse_and); }
  ExprPtr parse_and() { return parse_binary_chain(Expr::Kind::and_, "and", &Parser::parse_not); }

  ExprPtr parse_not() {
    DepthGuard g(*this);
    if (is_name("not")) {
      auto n = make(Expr::Kind::not_, cur().pos);
      next();
      n->args.push_back(parse_not());
      return seal(std::move(n));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const uint32_t pos = cur().pos;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == TokenType::op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" ||
           cur().text == "<=" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == TokenType::name && peek().text == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::compare, pos);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? seal(std::move(cmp)) : std::move(first);
  }

  ExprPtr binary(const std::string& op, uint32_t pos, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::binary, pos);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return seal(std::move(e));
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token op = cur();
      next();
      left = binary(op.text, op.pos, std::move(left), parse_concat());
    }
    return left;
  }
  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const uint32_t pos = cur().pos;
      next();
      left = binary("~", pos, std::move(left), parse_math2());
    }
    return left;
  }
  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token op = cur();
      next();
      left = binary(op.text, op.pos, std::move(left), parse_pow());
    }
    return left;
  }
  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const uint32_t pos = cur().pos;
      next();
      left = binary("**", pos, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(is_op("-") ? Expr::Kind::neg : Expr::Kind::pos, cur().pos);
      next();
      node->args.push_back(parse_unary(false));
      node = seal(std::move(node));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    ExprPtr e;
    switch (t.type) {
      case TokenType::name: {
        e = make(Expr::Kind::literal, t.pos);
        if (t.text == "true" || t.text == "True") e->value = Value(true);
        else if (t.text == "false" || t.text == "False") e->value = Value(false);
        else if (t.text == "none" || t.text == "None") e->value = Value::none();
        else {
          e->kind = Expr::Kind::name;
          e->name = t.text;
        }
        next();
        return e;
      }
      case TokenType::string: {
        e = make(Expr::Kind::literal, t.pos);
        std::string s;
        while (cur().type == TokenType::string) {  // adjacent literals concatenate
          s += cur().text;
          next();
        }
        e->value = Value(std::move(s));
        return e;
      }
      case TokenType::integer:
      case TokenType::floating:
        e = make(Expr::Kind::literal, t.pos);
        e->value = t.type == TokenType::integer ? Value(t.ival) : Value(t.fval);
        next();
        return e;
      default: break;
    }
    if (is_op("(")) {
      const uint32_t pos = cur().pos;
      next();
      if (skip_op(")")) {
        auto empty = make(Expr::Kind::list, pos);
        empty->name = "tuple";
        return empty;
      }
      ExprPtr inner = parse_expression();
      if (is_op(",")) {
        auto list = make(Expr::Kind::list, pos);
        list->name = "tuple";
        list->args.push_back(std::move(inner));
        while (skip_op(",")) {
          if (is_op(")")) break;
          list->args.push_back(parse_expression());
        }
        inner = seal(std::move(list));
      }
      expect_op(")");
      return inner;
    }
    if (is_op("[")) {
      auto list = make(Expr::Kind::list, cur().pos);
      next();
      while (!is_op("]")) {
        if (!list->args.empty()) expect_op(",");
        if (is_op("]")) break;
        list->args.push_back(parse_expression());
      }
      next();
      return seal(std::move(list));
    }
    if (is_op("{")) {
      auto dict = make(Expr::Kind::dict, cur().pos);
      next();
      while (!is_op("}")) {
        if (!dict->args.empty()) expect_op(",");
        if (is_op("}")) break;
        dict->args.push_back(parse_expression());
        expect_op(":");
        dict->args.push_back(parse_expression());
      }
      next();
      return seal(std::move(dict));
    }
    fail(fmt::format("unexpected {}", describe(t)));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        const uint32_t pos = cur().pos;
        next();
        if (cur().type == TokenType::integer) {
          auto idx = make(Expr::Kind::literal, cur().pos);
          idx->value = Value(cur().ival);
          next();
          auto g = make(Expr::Kind::getitem, pos);
          g->args.push_back(std::move(node));
          g->args.push_back(std::move(idx));
          node = seal(std::move(g));
        } else {
          auto g = make(Expr::Kind::getattr, pos);
          g->name = expect_name("an attribute name");
          g->args.push_back(std::move(node));
          node = seal(std::move(g));
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    const uint32_t pos = cur().pos;
    next();
    ExprPtr start, stop, step;
    if (!is_op(":")) {
      start = parse_expression();
      if (skip_op("]")) {
        auto g = make(Expr::Kind::getitem, pos);
        g->args.push_back(std::move(obj));
        g->args.push_back(std::move(start));
        return seal(std::move(g));
      }
    }
    expect_op(":");
    if (!is_op("]") && !is_op(":")) stop = parse_expression();
    if (skip_op(":") && !is_op("]")) step = parse_expression();
    expect_op("]");
    auto s = make(Expr::Kind::slice, pos);
    s->args.push_back(std::move(obj));
    s->args.push_back(std::move(start));
    s->args.push_back(std::move(stop));
    s->args.push_back(std::move(step));
    return seal(std::move(s));
  }

  // "(" args ")" into e->args (after any already there) and e->kwargs.
  void parse_call_args(Expr& e) {
    expect_op("(");
    bool any = false;
    while (!is_op(")")) {
      if (any) expect_op(",");
      if (is_op(")")) break;
      any = true;
      if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
      if (cur().type == TokenType::name && peek().type == TokenType::op && peek().text == "=") {
        std::string k = cur().text;
        next();
        next();
        e.kwargs.emplace_back(std::move(k), parse_expression());
      } else {
        if (!e.kwargs.empty()) fail("positional argument follows keyword argument");
        e.args.push_back(parse_expression());
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(Expr::Kind::call, callee->pos);
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return seal(std::move(c));
  }

  // name ["(" args ")"] applied to `input` (null inside {% filter %}).
  ExprPtr parse_filter(ExprPtr input) {
    auto f = make(Expr::Kind::filter, cur().pos);
    f->name = expect_name("a filter name");
    while (skip_op(".")) f->name += "." + expect_name("a filter name");
    f->args.push_back(std::move(input));
    if (is_op("(")) parse_call_args(*f);
    return seal(std::move(f));
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        next();
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        const uint32_t pos = cur().pos;
        next();
        auto t = make(Expr::Kind::test, pos);
        t->negated = skip_name("not");
        t->name = expect_name("a test name");
        t->args.push_back(std::move(node));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((cur().type == TokenType::name || cur().type == TokenType::string ||
                    cur().type == TokenType::integer || cur().type == TokenType::floating || is_op("[") ||
                    is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail("cannot chain multiple tests with 'is'");
          t->args.push_back(parse_postfix(parse_primary()));
        }
        node = seal(std::move(t));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::string_view src_;
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(std::string_view src, const Options& opt) { return Parser(src, lex(src, opt)).parse_template(); }

}  // namespace slm::jinja
