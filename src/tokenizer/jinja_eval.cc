// Jinja evaluator: walks the syntax tree with jinja2's scoping, loop and macro semantics.
#include "tokenizer/jinja_eval.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "core/error.h"

namespace slm::jinja {

namespace {

// A short label for an expression in "is undefined" messages: name, a.b, a['b'].
std::string expr_label(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::name: return e.name;
    case Expr::Kind::getattr: return expr_label(*e.args[0]) + "." + e.name;
    case Expr::Kind::getitem:
      if (e.args[1]->kind == Expr::Kind::literal) return expr_label(*e.args[0]) + "[" + e.args[1]->value.repr() + "]";
      return expr_label(*e.args[0]) + "[...]";
    case Expr::Kind::literal: return e.value.repr();
    default: return "expression";
  }
}

[[noreturn]] void undefined_error(const Expr& e) { value_error(fmt::format("'{}' is undefined", expr_label(e))); }

}  // namespace

Evaluator::Evaluator(std::string_view src, const RenderOptions& opt, Scope* root)
    : src_(src), opt_(opt), root_(root) {
  if (opt.now) {
    now_ = *opt.now;
  } else {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    localtime_r(&t, &now_);
  }
}

void Evaluator::charge(uint64_t steps) {
  steps_ += steps;
  if (steps_ > opt_.limits.max_steps)
    value_error(fmt::format("render exceeds the work limit of {} steps (endless or huge loop?)", opt_.limits.max_steps));
}

void Evaluator::charge_string(size_t bytes) {
  if (bytes > opt_.limits.max_output_bytes)
    value_error(fmt::format("string of {} bytes exceeds the limit of {} bytes", bytes, opt_.limits.max_output_bytes));
  charge(bytes / 64);
}

void Evaluator::check_list(size_t items) {
  if (items > opt_.limits.max_list_items)
    value_error(fmt::format("list of {} items exceeds the limit of {} items", items, opt_.limits.max_list_items));
  charge(items / 16);
}

void Evaluator::render(const Body& body, std::string& out) {
  Scope top{{}, root_};
  top_ = &top;
  exec(body, top, out);
  top_ = nullptr;
}

void Evaluator::emit(std::string& out, std::string_view s) {
  if (out.size() + s.size() > opt_.limits.max_output_bytes)
    value_error(fmt::format("output exceeds the limit of {} bytes", opt_.limits.max_output_bytes));
  charge(1 + s.size() / 64);
  out.append(s);
}

Evaluator::Flow Evaluator::exec(const Body& body, Scope& scope, std::string& out) {
  for (const Node& n : body) {
    const Flow f = exec_node(n, scope, out);
    if (f != Flow::normal) return f;
  }
  return Flow::normal;
}

Evaluator::Flow Evaluator::exec_node(const Node& n, Scope& scope, std::string& out) {
  try {
    switch (n.kind) {
      case Node::Kind::text: emit(out, n.text); return Flow::normal;
      case Node::Kind::output: {
        const Value v = eval(*n.expr, scope);
        if (v.is_string()) {
          emit(out, v.str());
        } else {
          emit(out, v.to_str());
        }
        return Flow::normal;
      }
      case Node::Kind::if_:
        charge(1);
        return eval(*n.expr, scope).truthy() ? exec(n.body, scope, out) : exec(n.else_body, scope, out);
      case Node::Kind::for_: return exec_for(n, scope, out);
      case Node::Kind::set: exec_set(n, scope, eval(*n.expr, scope)); return Flow::normal;
      case Node::Kind::set_block: {
        std::string captured;
        exec(n.body, scope, captured);
        exec_set(n, scope, Value(std::move(captured)));
        return Flow::normal;
      }
      case Node::Kind::macro: scope.vars[n.names[0]] = make_macro(n); return Flow::normal;
      case Node::Kind::filter_block: {
        std::string captured;
        exec(n.body, scope, captured);
        const Value in(std::move(captured));
        const Value r = eval_filter(*n.expr, scope, &in);
        emit(out, r.is_string() ? r.str() : r.to_str());
        return Flow::normal;
      }
      case Node::Kind::break_: return Flow::break_;
      case Node::Kind::continue_: return Flow::continue_;
      case Node::Kind::scope: {
        Scope inner{{}, &scope};
        return exec(n.body, inner, out);
      }
    }
  } catch (const ValueError& e) {
    throw Error(fmt::format("[jinja] {}: {}", location(src_, n.pos), e.message));
  }
  return Flow::normal;
}

Evaluator::Flow Evaluator::exec_for(const Node& n, Scope& scope, std::string& out) {
  const Value seq = eval(*n.expr, scope);
  if (seq.is_none()) value_error("'NoneType' object is not iterable");
  const List all = seq.iterate();
  Scope inner{{}, &scope};
  auto bind = [&](const Value& item) {
    if (n.names.size() == 1) {
      inner.vars[n.names[0]] = item;
      return;
    }
    const List parts = item.iterate();
    if (parts.size() != n.names.size())
      value_error(fmt::format("cannot unpack {} values into {} loop variables", parts.size(), n.names.size()));
    for (size_t k = 0; k < parts.size(); ++k) inner.vars[n.names[k]] = parts[k];
  };
  List items;
  if (n.cond) {
    for (const Value& item : all) {
      charge(1);
      bind(item);
      if (eval(*n.cond, inner).truthy()) items.push_back(item);
    }
  } else {
    items = all;
  }
  if (items.empty()) return exec(n.else_body, scope, out);
  const int64_t len = int64_t(items.size());
  for (int64_t i = 0; i < len; ++i) {
    charge(1);
    bind(items[size_t(i)]);
    auto loop = make_dict();
    loop->set("index", Value(i + 1));
    loop->set("index0", Value(i));
    loop->set("revindex", Value(len - i));
    loop->set("revindex0", Value(len - i - 1));
    loop->set("first", Value(i == 0));
    loop->set("last", Value(i == len - 1));
    loop->set("length", Value(len));
    loop->set("depth", Value(int64_t(1)));
    loop->set("depth0", Value(int64_t(0)));
    loop->set("previtem", i > 0 ? items[size_t(i - 1)] : Value());
    loop->set("nextitem", i + 1 < len ? items[size_t(i + 1)] : Value());
    loop->set("cycle", make_callable("loop.cycle", [i](CallArgs& a) -> Value {
      if (a.pos.empty()) value_error("loop.cycle() needs at least one argument");
      return a.pos[size_t(i) % a.pos.size()];
    }));
    inner.vars["loop"] = Value(std::move(loop));
    const Flow f = exec(n.body, inner, out);
    if (f == Flow::break_) break;
  }
  return Flow::normal;
}

void Evaluator::exec_set(const Node& n, Scope& scope, Value v) {
  charge(1);
  if (!n.attr.empty()) {
    const Value target = lookup(n.names[0], scope);
    if (!target.is_dict() || !target.dict().is_namespace)
      value_error(fmt::format("cannot assign attribute '{}' on '{}' (not a namespace)", n.attr, n.names[0]));
    if (v.holds_namespace()) value_error("a namespace cannot hold another namespace");
    target.dict_mut().set(n.attr, std::move(v));
    return;
  }
  if (n.names.size() == 1) {
    scope.vars[n.names[0]] = std::move(v);
    return;
  }
  const List parts = v.iterate();
  if (parts.size() != n.names.size())
    value_error(fmt::format("cannot unpack {} values into {} variables", parts.size(), n.names.size()));
  for (size_t k = 0; k < parts.size(); ++k) scope.vars[n.names[k]] = parts[k];
}

Value Evaluator::lookup(const std::string& name, Scope& scope) const {
  for (const Scope* s = &scope; s; s = s->parent) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  return Value();
}

Value Evaluator::make_macro(const Node& n) {
  const Node* node = &n;
  return make_callable(n.names[0], [this, node](CallArgs& a) { return call_macro(*node, a); });
}

Value Evaluator::call_macro(const Node& n, CallArgs& args) {
  if (call_depth_ >= opt_.limits.max_call_depth)
    value_error(fmt::format("macro calls nested deeper than {} levels", opt_.limits.max_call_depth));
  if (args.pos.size() > n.params.size())
    value_error(fmt::format("macro '{}' takes not more than {} argument(s)", n.names[0], n.params.size()));
  Scope frame{{}, top_ ? top_ : root_};
  for (size_t k = 0; k < n.params.size(); ++k) {
    const auto& [pname, def] = n.params[k];
    if (k < args.pos.size()) {
      frame.vars[pname] = args.pos[k];
    } else if (const Value* kv = args.get(SIZE_MAX, pname)) {
      frame.vars[pname] = *kv;
    } else {
      frame.vars[pname] = def ? eval(*def, frame) : Value();
    }
  }
  for (const auto& [k, v] : args.kw) {
    bool known = false;
    for (const auto& p : n.params) known = known || p.first == k;
    if (!known) value_error(fmt::format("macro '{}' takes no keyword argument '{}'", n.names[0], k));
  }
  std::string out;
  ++call_depth_;
  try {
    exec(n.body, frame, out);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return Value(std::move(out));
}

Value Evaluator::eval(const Expr& e, Scope& scope) {
  try {
    return eval_inner(e, scope);
  } catch (const ValueError& err) {
    throw Error(fmt::format("[jinja] {}: {}", location(src_, e.pos), err.message));
  }
}

Value Evaluator::eval_inner(const Expr& e, Scope& scope) {
  charge(1);
  switch (e.kind) {
    case Expr::Kind::literal: return e.value;
    case Expr::Kind::name: return lookup(e.name, scope);
    case Expr::Kind::list: {
      List l;
      for (const auto& a : e.args) l.push_back(eval(*a, scope));
      return e.name == "tuple" ? Value::tuple(std::move(l)) : Value(std::move(l));
    }
    case Expr::Kind::dict: {
      auto d = make_dict();
      for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
        const Value key = eval(*e.args[k], scope);
        if (!key.is_string()) value_error(fmt::format("dict keys must be strings, got '{}'", key.type_name()));
        d->set(key.str(), eval(*e.args[k + 1], scope));
      }
      return Value(std::move(d));
    }
    case Expr::Kind::getattr: {
      const Value obj = eval(*e.args[0], scope);
      if (obj.is_undefined()) value_error(fmt::format("'{}' is undefined (reading attribute '{}')", expr_label(*e.args[0]), e.name));
      return get_attr(obj, e.name);
    }
    case Expr::Kind::getitem: {
      const Value obj = eval(*e.args[0], scope);
      if (obj.is_undefined()) undefined_error(*e.args[0]);
      return get_item(obj, eval(*e.args[1], scope));
    }
    case Expr::Kind::slice: {
      const Value obj = eval(*e.args[0], scope);
      if (obj.is_undefined()) undefined_error(*e.args[0]);
      Value parts[3];
      for (int k = 0; k < 3; ++k)
        if (e.args[size_t(k) + 1]) parts[k] = eval(*e.args[size_t(k) + 1], scope);
      Value r = get_slice(obj, parts[0], parts[1], parts[2]);
      if (r.is_string()) charge_string(r.str().size());
      if (r.is_list()) check_list(r.list().size());
      return r;
    }
    case Expr::Kind::call: return eval_call(e, scope);
    case Expr::Kind::filter: return eval_filter(e, scope, nullptr);
    case Expr::Kind::test: {
      const Value v = eval(*e.args[0], scope);
      CallArgs a = eval_args(e, scope, 1);
      return Value(apply_test(e.name, v, a) != e.negated);
    }
    case Expr::Kind::neg:
    case Expr::Kind::pos: {
      const Value v = eval(*e.args[0], scope);
      if (!v.is_number()) value_error(fmt::format("bad operand type for unary {}: '{}'", e.kind == Expr::Kind::neg ? '-' : '+', v.type_name()));
      if (e.kind == Expr::Kind::pos) return v.is_bool() ? Value(v.as_int()) : v;
      if (v.is_float()) return Value(-v.as_double());
      if (v.as_int() == INT64_MIN) value_error("integer overflow");
      return Value(-v.as_int());
    }
    case Expr::Kind::not_: return Value(!eval(*e.args[0], scope).truthy());
    case Expr::Kind::and_: {
      Value a = eval(*e.args[0], scope);
      return a.truthy() ? eval(*e.args[1], scope) : a;
    }
    case Expr::Kind::or_: {
      Value a = eval(*e.args[0], scope);
      return a.truthy() ? a : eval(*e.args[1], scope);
    }
    case Expr::Kind::binary: return eval_binary(e, scope);
    case Expr::Kind::compare: return eval_compare(e, scope);
    case Expr::Kind::cond:
      if (eval(*e.args[0], scope).truthy()) return eval(*e.args[1], scope);
      return e.args[2] ? eval(*e.args[2], scope) : Value();
  }
  return Value();
}

Value Evaluator::eval_binary(const Expr& e, Scope& scope) {
  const Value a = eval(*e.args[0], scope);
  const Value b = eval(*e.args[1], scope);
  if (e.name != "~") {
    if (a.is_undefined()) undefined_error(*e.args[0]);
    if (b.is_undefined()) undefined_error(*e.args[1]);
  }
  return binary_op(e.name, a, b, *this);
}

Value Evaluator::eval_compare(const Expr& e, Scope& scope) {
  Value left = eval(*e.args[0], scope);
  for (size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.args[k + 1], scope);
    const std::string& op = e.ops[k];
    bool r;
    if (op == "==") r = left == right;
    else if (op == "!=") r = !(left == right);
    else if (op == "in") r = contains(right, left);
    else if (op == "not in") r = !contains(right, left);
    else {
      if (left.is_undefined()) undefined_error(*e.args[k]);
      if (right.is_undefined()) undefined_error(*e.args[k + 1]);
      const int c = Value::compare(left, right);
      r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

CallArgs Evaluator::eval_args(const Expr& e, Scope& scope, size_t first) {
  CallArgs a;
  for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k], scope));
  for (const auto& [name, x] : e.kwargs) a.kw.emplace_back(name, eval(*x, scope));
  return a;
}

Value Evaluator::eval_call(const Expr& e, Scope& scope) {
  const Expr& callee = *e.args[0];
  const Value fn = eval(callee, scope);
  if (!fn.is_callable()) {
    if (fn.is_undefined() && callee.kind == Expr::Kind::getattr) {
      const Value obj = eval(*callee.args[0], scope);
      value_error(fmt::format("'{}' object has no method '{}' (or it is not supported)", obj.type_name(), callee.name));
    }
    if (fn.is_undefined()) value_error(fmt::format("'{}' is undefined (or not a supported function)", expr_label(callee)));
    value_error(fmt::format("'{}' object is not callable", fn.type_name()));
  }
  CallArgs a = eval_args(e, scope, 1);
  Value r = fn.callable().fn(a);
  if (r.is_string()) charge_string(r.str().size());
  return r;
}

Value Evaluator::eval_filter(const Expr& e, Scope& scope, const Value* input) {
  Value in;
  if (e.args[0]) {
    in = e.args[0]->kind == Expr::Kind::filter ? eval_filter(*e.args[0], scope, input) : eval(*e.args[0], scope);
  } else if (input) {
    in = *input;
  }
  CallArgs a = eval_args(e, scope, 1);
  try {
    Value r = apply_filter(e.name, in, a);
    if (r.is_string()) charge_string(r.str().size());
    if (r.is_list()) check_list(r.list().size());
    return r;
  } catch (const ValueError& err) {
    throw Error(fmt::format("[jinja] {}: {}", location(src_, e.pos), err.message));
  }
}

}  // namespace slm::jinja
