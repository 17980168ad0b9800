// Jinja evaluator internals: scopes, the work budget, and the builtins (filters, tests, methods,
// globals) it dispatches to.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tokenizer/jinja.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_value.h"

namespace slm::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  Scope* parent = nullptr;
};

class Evaluator {
 public:
  Evaluator(std::string_view src, const RenderOptions& opt, Scope* root);

  void render(const Body& body, std::string& out);

  // Work accounting shared with builtins: fails once the budget or a size limit is exceeded.
  void charge(uint64_t steps);
  void charge_string(size_t bytes);  // a new string of this size
  void check_list(size_t items);     // a new list of this many items
  const Limits& limits() const { return opt_.limits; }
  const std::tm& now() const { return now_; }

  // Builtins (jinja_builtins.cc). Filter and test names not known fail with "unsupported filter 'x'".
  Value apply_filter(std::string_view name, const Value& input, CallArgs& args);
  bool apply_test(std::string_view name, const Value& v, CallArgs& args);

 private:
  enum class Flow { normal, break_, continue_ };
  Flow exec(const Body& body, Scope& scope, std::string& out);
  Flow exec_node(const Node& n, Scope& scope, std::string& out);
  Flow exec_for(const Node& n, Scope& scope, std::string& out);
  void exec_set(const Node& n, Scope& scope, Value v);
  void emit(std::string& out, std::string_view s);

  Value eval(const Expr& e, Scope& scope);
  Value eval_inner(const Expr& e, Scope& scope);
  Value eval_binary(const Expr& e, Scope& scope);
  Value eval_compare(const Expr& e, Scope& scope);
  Value eval_call(const Expr& e, Scope& scope);
  Value eval_filter(const Expr& e, Scope& scope, const Value* input);
  CallArgs eval_args(const Expr& e, Scope& scope, size_t first);
  Value lookup(const std::string& name, Scope& scope) const;
  Value make_macro(const Node& n);
  Value call_macro(const Node& n, CallArgs& args);

  std::string_view src_;
  const RenderOptions& opt_;
  Scope* root_;          // globals and render variables
  Scope* top_ = nullptr;  // the template's own top-level variables (macros see them)
  std::tm now_{};
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

// The global functions every render sees: range, namespace, dict, raise_exception, strftime_now.
void add_globals(Evaluator& ev, Scope& globals);

// jinja2's environment.getattr / getitem: methods first for attributes, then keys; missing = undefined.
Value get_attr(const Value& obj, std::string_view name);
Value get_item(const Value& obj, const Value& key);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Python binary operators and `in`.
Value binary_op(std::string_view op, const Value& a, const Value& b, Evaluator& ev);
bool contains(const Value& container, const Value& item);
// Python's "fmt % args" for %s %r %d %i %f %%; args is one value or a tuple.
std::string printf_format(const std::string& f, const Value& args);

}  // namespace slm::jinja
