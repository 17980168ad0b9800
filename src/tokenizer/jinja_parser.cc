// Jinja parser, statements: token stream -> syntax tree ({% if %}, {% for %}, {% set %}, {% macro %}, ...).
#include "tokenizer/jinja_parser.h"

namespace slm::jinja {

// Parses nodes until a block tag named in `ends` (its name is consumed and stored in *end) or eof.
Body Parser::parse_body(std::initializer_list<const char*> ends, std::string* end) {
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

Node Parser::parse_statement() {
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

Node Parser::parse_if(Node n) {
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

Node Parser::parse_for(Node n) {
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

Node Parser::parse_set(Node n) {
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

Node Parser::parse_macro(Node n) {
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

Node Parser::parse_filter_block(Node n) {
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
Body parse(std::string_view src, const Options& opt) { return Parser(src, lex(src, opt)).parse_template(); }

}  // namespace slm::jinja
