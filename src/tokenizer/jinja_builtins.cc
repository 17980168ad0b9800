// Jinja filters and tests (jinja2's semantics; tojson as transformers defines it: json.dumps).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_text.h"

namespace slm::jinja {

namespace {

int64_t length_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined: return 0;
    case Value::Kind::string: return int64_t(text::codepoint_count(v.str()));
    case Value::Kind::list: return int64_t(v.list().size());
    case Value::Kind::dict: return int64_t(v.dict().size());
    default: value_error(fmt::format("object of type '{}' has no len()", v.type_name()));
  }
}

// jinja2's make_attrgetter: "a.b.0" looks up each part with getitem; ints for numeric parts.
Value attr_path(const Value& item, const std::string& path) {
  Value cur = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    Value key(part);
    if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      key = Value(int64_t(std::stoll(part.substr(0, 18))));
    if (cur.is_undefined()) return cur;
    cur = get_item(cur, key);
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

const Value* kwarg(const CallArgs& a, std::string_view name) {
  for (const auto& [k, v] : a.kw)
    if (k == name) return &v;
  return nullptr;
}

Value to_int(const Value& v, const Value& def, int64_t base) {
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    const double d = v.as_double();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return def;
    return Value(int64_t(d));
  }
  if (v.is_string()) {
    const std::string s = text::strip(v.str(), nullptr, true, true);
    std::string digits;
    for (char c : s)
      if (c != '_') digits += c;
    try {
      size_t used = 0;
      const int64_t i = std::stoll(digits, &used, int(base));
      if (used == digits.size() && !digits.empty()) return Value(i);
    } catch (const std::exception&) {
    }
    try {
      size_t used = 0;
      const double d = std::stod(digits, &used);
      if (used == digits.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(int64_t(d));
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value to_float(const Value& v, const Value& def) {
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    try {
      size_t used = 0;
      const std::string s = text::strip(v.str(), nullptr, true, true);
      const double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value filter_tojson(const Value& v, const CallArgs& a) {
  a.expect("tojson", 1, {"indent", "separators", "sort_keys", "ensure_ascii"});
  Value::JsonStyle st;
  const Value* indent = a.get(0, "indent");
  if (indent && !indent->is_none()) {
    if (indent->is_string()) st.indent = indent->str();
    else if (indent->is_int()) st.indent = std::string(size_t(std::clamp<int64_t>(indent->as_int(), 0, 64)), ' ');
    else value_error("tojson(): indent must be an integer or a string");
    st.item_sep = ",";
  }
  if (const Value* sep = kwarg(a, "separators"); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->list().size() != 2 || !sep->list()[0].is_string() || !sep->list()[1].is_string())
      value_error("tojson(): separators must be a pair of strings");
    st.item_sep = sep->list()[0].str();
    st.key_sep = sep->list()[1].str();
  }
  if (const Value* sk = kwarg(a, "sort_keys")) st.sort_keys = sk->truthy();
  if (const Value* ea = kwarg(a, "ensure_ascii"); ea && ea->truthy()) value_error("tojson(ensure_ascii=True) is not supported");
  return Value(v.to_json(st));
}

// select/reject/selectattr/rejectattr: keep items whose (attribute's) test result equals `keep`.
Value filter_select(Evaluator& ev, const Value& seq, CallArgs& a, bool by_attr, bool keep) {
  size_t k = 0;
  std::string attr;
  if (by_attr) {
    if (a.pos.empty() || !a.pos[0].is_string()) value_error("selectattr/rejectattr need an attribute name");
    attr = a.pos[0].str();
    k = 1;
  }
  std::string test;
  if (k < a.pos.size()) {
    if (!a.pos[k].is_string()) value_error("select/reject: the test name must be a string");
    test = a.pos[k].str();
    ++k;
  }
  CallArgs targs;
  targs.pos.assign(a.pos.begin() + std::ptrdiff_t(std::min(k, a.pos.size())), a.pos.end());
  targs.kw = a.kw;
  List out;
  for (const Value& item : seq.iterate()) {
    ev.charge(1);
    const Value x = by_attr ? attr_path(item, attr) : item;
    const bool r = test.empty() ? x.truthy() : ev.apply_test(test, x, targs);
    if (r == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Value filter_map(Evaluator& ev, const Value& seq, CallArgs& a) {
  List out;
  if (const Value* attr = kwarg(a, "attribute")) {
    if (!attr->is_string()) value_error("map(attribute=...) needs a string");
    const Value* def = kwarg(a, "default");
    for (const Value& item : seq.iterate()) {
      ev.charge(1);
      Value x = attr_path(item, attr->str());
      out.push_back(x.is_undefined() && def ? *def : x);
    }
    return Value(std::move(out));
  }
  if (a.pos.empty() || !a.pos[0].is_string()) value_error("map() needs a filter name or attribute=");
  const std::string name = a.pos[0].str();
  CallArgs fargs;
  fargs.pos.assign(a.pos.begin() + 1, a.pos.end());
  fargs.kw = a.kw;
  for (const Value& item : seq.iterate()) {
    ev.charge(1);
    CallArgs copy = fargs;
    out.push_back(ev.apply_filter(name, item, copy));
  }
  return Value(std::move(out));
}

Value filter_join(Evaluator& ev, const Value& seq, const CallArgs& a) {
  a.expect("join", 2, {"d", "attribute"});
  const Value* sep = a.get(0, "d");
  const Value* attr = a.get(1, "attribute");
  const std::string s = sep ? sep->to_str() : std::string();
  std::string out;
  bool first = true;
  for (const Value& item : seq.iterate()) {
    if (!first) out += s;
    first = false;
    out += (attr ? attr_path(item, attr->to_str()) : item).to_str();
    ev.charge_string(out.size());
  }
  return Value(std::move(out));
}

Value filter_sort(const Value& seq, const CallArgs& a) {
  a.expect("sort", 3, {"reverse", "case_sensitive", "attribute"});
  const Value* rev = a.get(0, "reverse");
  const Value* cs = a.get(1, "case_sensitive");
  const Value* attr = a.get(2, "attribute");
  List items = seq.iterate();
  auto key = [&](const Value& v) {
    Value k = attr ? attr_path(v, attr->to_str()) : v;
    if (k.is_string() && !(cs && cs->truthy())) k = Value(text::lower(k.str()));
    return k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) { return Value::compare(key(x), key(y)) < 0; });
  if (rev && rev->truthy()) std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Value filter_indent(const Value& v, const CallArgs& a) {
  a.expect("indent", 3, {"width", "first", "blank"});
  const Value* w = a.get(0, "width");
  const Value* first = a.get(1, "first");
  const Value* blank = a.get(2, "blank");
  const std::string pad = w && w->is_string() ? w->str() : std::string(size_t(std::clamp<int64_t>(w ? w->as_int() : 4, 0, 256)), ' ');
  const std::string s = v.to_str();
  std::string out;
  size_t start = 0;
  bool is_first = true;
  while (start <= s.size()) {
    const size_t nl = s.find('\n', start);
    const std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    const bool want = is_first ? (first && first->truthy()) : (!line.empty() || (blank && blank->truthy()));
    if (want) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    is_first = false;
  }
  return Value(std::move(out));
}

}  // namespace

Value Evaluator::apply_filter(std::string_view name, const Value& v, CallArgs& a) {
  charge(1);
  if (name == "trim") {
    a.expect(name, 1, {"chars"});
    const Value* chars = a.get(0, "chars");
    const std::string set = chars && !chars->is_none() ? chars->to_str() : std::string();
    return Value(text::strip(v.to_str(), chars && !chars->is_none() ? &set : nullptr, true, true));
  }
  if (name == "tojson") return filter_tojson(v, a);
  if (name == "length" || name == "count") return Value(length_of(v));
  if (name == "upper") return Value(text::upper(v.to_str()));
  if (name == "lower") return Value(text::lower(v.to_str()));
  if (name == "title") return Value(text::title_words(v.to_str()));
  if (name == "capitalize") return Value(text::capitalize(v.to_str()));
  if (name == "first" || name == "last") {
    const List items = v.iterate();
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") return filter_join(*this, v, a);
  if (name == "default" || name == "d") {
    a.expect(name, 2, {"default_value", "boolean"});
    const Value* def = a.get(0, "default_value");
    const Value* boolean = a.get(1, "boolean");
    const bool use_default = v.is_undefined() || (boolean && boolean->truthy() && !v.truthy());
    return use_default ? (def ? *def : Value(std::string())) : v;
  }
  if (name == "replace") {
    a.expect(name, 3, {"old", "new", "count"});
    const Value* from = a.get(0, "old");
    const Value* to = a.get(1, "new");
    const Value* count = a.get(2, "count");
    if (!from || !to) value_error("replace() needs old and new strings");
    const int64_t n = count && !count->is_none() ? count->as_int() : -1;
    return Value(text::replace(v.to_str(), from->to_str(), to->to_str(), n));
  }
  if (name == "string") return v.is_string() ? v : Value(v.to_str());
  if (name == "int") {
    a.expect(name, 2, {"default", "base"});
    const Value* def = a.get(0, "default");
    const Value* base = a.get(1, "base");
    const int64_t b = base ? base->as_int() : 10;
    if (b < 2 || b > 36) value_error("int(): base must be between 2 and 36");
    return to_int(v, def ? *def : Value(int64_t(0)), b);
  }
  if (name == "float") {
    const Value* def = a.get(0, "default");
    return to_float(v, def ? *def : Value(0.0));
  }
  if (name == "list") return Value(v.iterate());
  if (name == "items") {
    if (v.is_undefined()) return Value(List{});
    if (!v.is_dict()) value_error(fmt::format("items filter: expected a mapping, got '{}'", v.type_name()));
    List out;
    for (const auto& [k, x] : v.dict().items) out.push_back(Value::tuple(List{Value(k), x}));
    return Value(std::move(out));
  }
  if (name == "selectattr") return filter_select(*this, v, a, true, true);
  if (name == "rejectattr") return filter_select(*this, v, a, true, false);
  if (name == "select") return filter_select(*this, v, a, false, true);
  if (name == "reject") return filter_select(*this, v, a, false, false);
  if (name == "map") return filter_map(*this, v, a);
  if (name == "safe") return v;
  if (name == "escape" || name == "e" || name == "forceescape") return Value(text::html_escape(v.to_str()));
  if (name == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_double()));
    if (v.is_int() || v.is_bool()) {
      if (v.as_int() == INT64_MIN) value_error("integer overflow");
      return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    }
    value_error(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
  }
  if (name == "round") {
    const Value* prec = a.get(0, "precision");
    const Value* method = a.get(1, "method");
    if (!v.is_number()) value_error("round filter needs a number");
    if (!v.is_float() && (!method || method->to_str() == "common")) return Value(v.as_int());  // round(int) is the int
    const double p = std::pow(10.0, double(prec ? std::clamp<int64_t>(prec->as_int(), 0, 15) : 0));
    const std::string m = method ? method->to_str() : "common";
    const double x = v.as_double() * p;
    const double r = m == "floor" ? std::floor(x) : m == "ceil" ? std::ceil(x) : std::nearbyint(x);
    return Value(r / p);
  }
  if (name == "reverse") {
    if (v.is_string()) {
      auto cps = text::decode(v.str());
      std::reverse(cps.begin(), cps.end());
      return Value(text::encode(cps));
    }
    List items = v.iterate();
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "sort") return filter_sort(v, a);
  if (name == "unique") {
    List out;
    for (const Value& x : v.iterate()) {
      charge(out.size() / 16 + 1);
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    }
    return Value(std::move(out));
  }
  if (name == "min" || name == "max") {
    const List items = v.iterate();
    if (items.empty()) return Value();
    Value best = items[0];
    for (const Value& x : items) {
      const int c = Value::compare(x, best);
      if (name == "min" ? c < 0 : c > 0) best = x;
    }
    return best;
  }
  if (name == "sum") {
    const Value* attr = a.get(0, "attribute");
    const Value* start = a.get(1, "start");
    Value acc = start ? *start : Value(int64_t(0));
    for (const Value& x : v.iterate()) acc = binary_op("+", acc, attr ? attr_path(x, attr->to_str()) : x, *this);
    return acc;
  }
  if (name == "indent") return filter_indent(v, a);
  if (name == "format") return Value(printf_format(v.to_str(), Value::tuple(a.pos)));
  if (name == "center") {
    const Value* w = a.get(0, "width");
    const int64_t width = std::clamp<int64_t>(w ? w->as_int() : 80, 0, 4096);
    const std::string s = v.to_str();
    const int64_t n = int64_t(text::codepoint_count(s));
    if (n >= width) return Value(s);
    const int64_t left = (width - n) / 2 + ((width - n) % 2 & width % 2);  // Python's str.center split
    return Value(std::string(size_t(left), ' ') + s + std::string(size_t(width - n - left), ' '));
  }
  if (name == "attr") {
    if (a.pos.empty() || !a.pos[0].is_string()) value_error("attr() needs an attribute name");
    return get_attr(v, a.pos[0].str());
  }
  if (name == "dictsort") {
    if (!v.is_dict()) value_error("dictsort filter needs a mapping");
    List out;
    for (const auto& [k, x] : v.dict().items) out.push_back(Value::tuple(List{Value(k), x}));
    std::stable_sort(out.begin(), out.end(), [](const Value& x, const Value& y) {
      return text::lower(x.list()[0].str()) < text::lower(y.list()[0].str());
    });
    return Value(std::move(out));
  }
  value_error(fmt::format("unsupported filter '{}'", name));
}

bool Evaluator::apply_test(std::string_view name, const Value& v, CallArgs& a) {
  charge(1);
  auto arg = [&]() -> const Value& {
    if (a.pos.empty()) value_error(fmt::format("test '{}' needs an argument", name));
    return a.pos[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict() && !v.dict().is_namespace;
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "sequence") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "callable") return v.is_callable();
  if (name == "escaped") return false;
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!(v.is_int() || v.is_bool())) value_error(fmt::format("test '{}' needs an integer", name));
    const int64_t x = v.as_int();
    if (name == "odd") return x % 2 != 0;
    if (name == "even") return x % 2 == 0;
    const Value& d = arg();
    if (!(d.is_int() || d.is_bool()) || d.as_int() == 0) value_error("divisibleby needs a non-zero integer");
    return x % d.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return v == arg();
  if (name == "ne" || name == "!=") return !(v == arg());
  if (name == "lt" || name == "lessthan" || name == "<") return Value::compare(v, arg()) < 0;
  if (name == "le" || name == "<=") return Value::compare(v, arg()) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return Value::compare(v, arg()) > 0;
  if (name == "ge" || name == ">=") return Value::compare(v, arg()) >= 0;
  if (name == "in") return contains(arg(), v);
  if (name == "sameas") {
    const Value& o = arg();
    if (v.kind() != o.kind()) return false;
    switch (v.kind()) {
      case Value::Kind::none:
      case Value::Kind::undefined: return true;
      case Value::Kind::boolean: return v.as_bool() == o.as_bool();
      case Value::Kind::list: return &v.list() == &o.list();
      case Value::Kind::dict: return &v.dict() == &o.dict();
      default: return v == o;
    }
  }
  if (name == "lower") return v.is_string() && text::lower(v.str()) == v.str() && text::upper(v.str()) != v.str();
  if (name == "upper") return v.is_string() && text::upper(v.str()) == v.str() && text::lower(v.str()) != v.str();
  value_error(fmt::format("unsupported test '{}'", name));
}

}  // namespace slm::jinja
