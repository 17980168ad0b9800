// Jinja parser, expressions: jinja2's grammar and operator precedence, with nesting limits.
#include "tokenizer/jinja_parser.h"

namespace slm::jinja {

ExprPtr Parser::parse_tuple(bool with_condexpr) {
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

ExprPtr Parser::parse_expression() {
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

ExprPtr Parser::parse_binary_chain(Expr::Kind k, const char* word, ExprPtr (Parser::*sub)()) {
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

ExprPtr Parser::parse_or() {
  return parse_binary_chain(Expr::Kind::or_, "or", &Parser::parse_and);
}

ExprPtr Parser::parse_and() {
  return parse_binary_chain(Expr::Kind::and_, "and", &Parser::parse_not);
}

ExprPtr Parser::parse_not() {
  DepthGuard g(*this);
  if (is_name("not")) {
    auto n = make(Expr::Kind::not_, cur().pos);
    next();
    n->args.push_back(parse_not());
    return seal(std::move(n));
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
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

ExprPtr Parser::binary(const std::string& op, uint32_t pos, ExprPtr a, ExprPtr b) {
  auto e = make(Expr::Kind::binary, pos);
  e->name = op;
  e->args.push_back(std::move(a));
  e->args.push_back(std::move(b));
  return seal(std::move(e));
}

ExprPtr Parser::parse_math1() {
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    const Token op = cur();
    next();
    left = binary(op.text, op.pos, std::move(left), parse_concat());
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  ExprPtr left = parse_math2();
  while (is_op("~")) {
    const uint32_t pos = cur().pos;
    next();
    left = binary("~", pos, std::move(left), parse_math2());
  }
  return left;
}

ExprPtr Parser::parse_math2() {
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token op = cur();
    next();
    left = binary(op.text, op.pos, std::move(left), parse_pow());
  }
  return left;
}

ExprPtr Parser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    const uint32_t pos = cur().pos;
    next();
    left = binary("**", pos, std::move(left), parse_unary(true));
  }
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
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

ExprPtr Parser::parse_primary() {
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

ExprPtr Parser::parse_postfix(ExprPtr node) {
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

ExprPtr Parser::parse_subscript(ExprPtr obj) {
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
void Parser::parse_call_args(Expr& e) {
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

ExprPtr Parser::parse_call(ExprPtr callee) {
  auto c = make(Expr::Kind::call, callee->pos);
  c->args.push_back(std::move(callee));
  parse_call_args(*c);
  return seal(std::move(c));
}

// name ["(" args ")"] applied to `input` (null inside {% filter %}).
ExprPtr Parser::parse_filter(ExprPtr input) {
  auto f = make(Expr::Kind::filter, cur().pos);
  f->name = expect_name("a filter name");
  while (skip_op(".")) f->name += "." + expect_name("a filter name");
  f->args.push_back(std::move(input));
  if (is_op("(")) parse_call_args(*f);
  return seal(std::move(f));
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
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
}  // namespace slm::jinja
