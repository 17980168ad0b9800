// Jinja operators, attribute/item/slice access, str and dict methods, and the global functions.
#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_text.h"

namespace slm::jinja {

namespace {

const std::string& arg_str(const Value* v, const char* fn) {
  if (!v || !v->is_string()) value_error(fmt::format("{}() expects a string argument", fn));
  return v->str();
}

int64_t arg_int(const Value* v, const char* fn) {
  if (!v || !(v->is_int() || v->is_bool())) value_error(fmt::format("{}() expects an integer argument", fn));
  return v->as_int();
}

// Python's slice.indices(): clamps start/stop for a sequence of `len` items.
void slice_indices(int64_t len, const Value& start, const Value& stop, const Value& step, int64_t* b, int64_t* e,
                   int64_t* s) {
  auto as_idx = [](const Value& v) {
    if (!(v.is_int() || v.is_bool())) value_error(fmt::format("slice indices must be integers or None, not '{}'", v.type_name()));
    return v.as_int();
  };
  *s = (step.is_undefined() || step.is_none()) ? 1 : as_idx(step);
  if (*s == 0) value_error("slice step cannot be zero");
  const int64_t lo = *s < 0 ? -1 : 0, hi = *s < 0 ? len - 1 : len;
  auto fix = [&](const Value& v, int64_t def) {
    if (v.is_undefined() || v.is_none()) return def;
    int64_t i = as_idx(v);
    if (i < 0) {
      i += len;
      if (i < lo) i = lo;
    } else if (i > hi) {
      i = hi;
    }
    return i;
  };
  *b = fix(start, *s < 0 ? hi : lo);
  *e = fix(stop, *s < 0 ? lo : hi);
}

std::vector<int64_t> slice_positions(int64_t len, const Value& start, const Value& stop, const Value& step) {
  int64_t b, e, s;
  slice_indices(len, start, stop, step, &b, &e, &s);
  std::vector<int64_t> out;
  if (s > 0) {
    for (int64_t i = b; i < e; i += s) out.push_back(i);
  } else {
    for (int64_t i = b; i > e; i += s) out.push_back(i);
  }
  return out;
}

bool starts_or_ends(const std::string& s, const Value& arg, bool ends) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) value_error("startswith/endswith expects a string or a tuple of strings");
    const std::string& x = p.str();
    if (x.size() > s.size()) return false;
    return ends ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0;
  };
  if (arg.is_list()) {
    for (const Value& p : arg.list())
      if (one(p)) return true;
    return false;
  }
  return one(arg);
}

// str.format with "{}", "{0}" and "{name}" fields (no format specs).
std::string py_format(const std::string& fmt_s, const CallArgs& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt_s.size(); ++i) {
    const char c = fmt_s[i];
    if (c == '{' && i + 1 < fmt_s.size() && fmt_s[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt_s.size() && fmt_s[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t close = fmt_s.find('}', i);
      if (close == std::string::npos) value_error("Single '{' encountered in format string");
      const std::string field = fmt_s.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos) value_error("format specs in str.format() are not supported");
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_idx < a.pos.size() ? &a.pos[auto_idx] : nullptr;
        ++auto_idx;
      } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
        const size_t k = std::stoul(field);
        v = k < a.pos.size() ? &a.pos[k] : nullptr;
      } else {
        v = a.get(SIZE_MAX, field);
      }
      if (!v) value_error(fmt::format("str.format(): missing argument for field '{{{}}}'", field));
      out += v->to_str();
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

// Python's "fmt % args" (printf_format below).
std::string printf_format_impl(const std::string& f, const Value& args) {
  const List items = args.is_tuple() ? args.list() : List{args};
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (i + 1 >= f.size()) value_error("incomplete format");
    const char c = f[++i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (k >= items.size()) value_error("not enough arguments for format string");
    const Value& v = items[k++];
    if (c == 's') out += v.to_str();
    else if (c == 'r') out += v.repr();
    else if ((c == 'd' || c == 'i') && v.is_number()) out += std::to_string(v.is_float() ? int64_t(v.as_double()) : v.as_int());
    else if (c == 'f' && v.is_number()) out += fmt::format("{:.6f}", v.as_double());
    else value_error(fmt::format("unsupported format character '{}' in '%' formatting", c));
  }
  if (k < items.size()) value_error("not all arguments converted during string formatting");
  return out;
}

Value string_method(const std::string& s, std::string_view name, CallArgs& a) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    a.expect(name, 1, {});
    const Value* chars = a.get(0, "");
    const std::string* set = (chars && !chars->is_none()) ? &arg_str(chars, "strip") : nullptr;
    return Value(text::strip(s, set, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    a.expect(name, 2, {"sep", "maxsplit"});
    const Value* sep = a.get(0, "sep");
    const Value* maxsplit = a.get(1, "maxsplit");
    const std::string* sp = (sep && !sep->is_none()) ? &arg_str(sep, "split") : nullptr;
    if (sp && sp->empty()) value_error("empty separator");
    const int64_t m = maxsplit ? arg_int(maxsplit, "split") : -1;
    if (name == "rsplit" && m >= 0) value_error("rsplit() with maxsplit is not supported");
    List parts;
    for (auto& p : text::split(s, sp, m)) parts.emplace_back(std::move(p));
    return Value(std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    a.expect(name, 1, {});
    if (a.pos.empty()) value_error(fmt::format("{}() takes one argument", name));
    return Value(starts_or_ends(s, a.pos[0], name == "endswith"));
  }
  if (name == "upper") return Value(text::upper(s));
  if (name == "lower") return Value(text::lower(s));
  if (name == "title") return Value(text::title(s));
  if (name == "capitalize") return Value(text::capitalize(s));
  if (name == "replace") {
    a.expect(name, 3, {});
    if (a.pos.size() < 2) value_error("replace() takes at least 2 arguments");
    const int64_t count = a.pos.size() > 2 ? arg_int(&a.pos[2], "replace") : -1;
    return Value(text::replace(s, arg_str(&a.pos[0], "replace"), arg_str(&a.pos[1], "replace"), count));
  }
  if (name == "format") return Value(py_format(s, a));
  if (name == "join") {
    a.expect(name, 1, {});
    if (a.pos.empty()) value_error("join() takes one argument");
    std::string out;
    bool first = true;
    for (const Value& v : a.pos[0].iterate()) {
      if (!v.is_string()) value_error(fmt::format("sequence item: expected str instance, '{}' found", v.type_name()));
      if (!first) out += s;
      first = false;
      out += v.str();
    }
    return Value(std::move(out));
  }
  if (name == "find" || name == "count" || name == "index") {
    a.expect(name, 1, {});
    const std::string& sub = arg_str(a.get(0, ""), std::string(name).c_str());
    if (name == "count") {
      if (sub.empty()) return Value(int64_t(text::codepoint_count(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    const size_t p = s.find(sub);
    if (p == std::string::npos) {
      if (name == "index") value_error("substring not found");
      return Value(int64_t(-1));
    }
    return Value(int64_t(text::codepoint_count(std::string_view(s).substr(0, p))));
  }
  if (name == "splitlines") {
    List lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        lines.emplace_back(s.substr(start, i - start));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < s.size()) lines.emplace_back(s.substr(start));
    return Value(std::move(lines));
  }
  if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "islower" || name == "isupper") {
    if (s.empty()) return Value(false);
    const auto cps = text::decode(s);
    bool ok = true, cased = false;
    for (char32_t c : cps) {
      if (name == "isdigit") ok = ok && c < 128 && std::isdigit(int(c));
      if (name == "isalpha") ok = ok && c < 128 && std::isalpha(int(c));
      if (name == "isspace") ok = ok && text::is_space(c);
      const std::string one = text::encode({c});
      if (text::lower(one) != text::upper(one)) {
        cased = true;
        if (name == "islower") ok = ok && one == text::lower(one);
        if (name == "isupper") ok = ok && one == text::upper(one);
      }
    }
    if (name == "islower" || name == "isupper") ok = ok && cased;
    return Value(ok);
  }
  value_error(fmt::format("'str' object has no method '{}' (or it is not supported)", name));
}

bool is_string_method(std::string_view n) {
  static const char* kNames[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                 "upper", "lower", "title", "capitalize", "replace", "format", "join", "find",
                                 "count", "index", "splitlines", "isdigit", "isalpha", "isspace", "islower",
                                 "isupper"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

Value dict_method(const Value& d, std::string_view name, CallArgs& a) {
  if (name == "items" || name == "keys" || name == "values") {
    a.expect(name, 0, {});
    List out;
    for (const auto& [k, v] : d.dict().items) {
      if (name == "items") out.push_back(Value::tuple(List{Value(k), v}));
      else if (name == "keys") out.emplace_back(k);
      else out.push_back(v);
    }
    return Value(std::move(out));
  }
  if (name == "get") {
    a.expect(name, 2, {});
    if (a.pos.empty()) value_error("get() takes at least 1 argument");
    const Value* v = a.pos[0].is_string() ? d.dict().find(a.pos[0].str()) : nullptr;
    if (v) return *v;
    return a.pos.size() > 1 ? a.pos[1] : Value::none();
  }
  value_error(fmt::format("'dict' object has no method '{}' (or it is not supported)", name));
}

}  // namespace

std::string printf_format(const std::string& f, const Value& args) { return printf_format_impl(f, args); }

Value get_attr(const Value& obj, std::string_view name) {
  if (obj.is_dict()) {
    if (!obj.dict().is_namespace && (name == "items" || name == "keys" || name == "values" || name == "get")) {
      const std::string n(name);
      return make_callable("dict." + n, [obj, n](CallArgs& a) { return dict_method(obj, n, a); });
    }
    const Value* v = obj.dict().find(name);
    return v ? *v : Value();
  }
  if (obj.is_string() && is_string_method(name)) {
    const std::string n(name);
    return make_callable("str." + n, [obj, n](CallArgs& a) { return string_method(obj.str(), n, a); });
  }
  return Value();
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict().find(key.str())) return *v;
      return get_attr(obj, key.str());
    }
    return Value();
  }
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    if (obj.is_list()) {
      const int64_t n = int64_t(obj.list().size());
      int64_t i = key.as_int();
      if (i < 0) i += n;
      return (i >= 0 && i < n) ? obj.list()[size_t(i)] : Value();
    }
    const auto cps = text::decode(obj.str());
    const int64_t n = int64_t(cps.size());
    int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value();
    return Value(text::encode({cps[size_t(i)]}));
  }
  if (key.is_string()) return get_attr(obj, key.str());
  return Value();
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_list()) {
    const List& l = obj.list();
    List out;
    for (int64_t i : slice_positions(int64_t(l.size()), start, stop, step)) out.push_back(l[size_t(i)]);
    return Value(std::move(out));
  }
  if (obj.is_string()) {
    const auto cps = text::decode(obj.str());
    std::vector<char32_t> out;
    for (int64_t i : slice_positions(int64_t(cps.size()), start, stop, step)) out.push_back(cps[size_t(i)]);
    return Value(text::encode(out));
  }
  return Value();
}

template <typename F>
static Value checked(F op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op(a, b, &r)) value_error("integer overflow");
  return Value(r);
}
constexpr auto kAdd = [](int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); };
constexpr auto kSub = [](int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); };
constexpr auto kMul = [](int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); };

static Value repeat(const Value& seq, int64_t n, Evaluator& ev) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : Value(List{});
  if (seq.is_string()) {
    const std::string& s = seq.str();
    if (!s.empty() && uint64_t(n) > ev.limits().max_output_bytes / s.size()) ev.charge_string(SIZE_MAX);
    ev.charge_string(s.size() * size_t(n));
    std::string out;
    out.reserve(s.size() * size_t(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const List& l = seq.list();
  if (!l.empty() && uint64_t(n) > ev.limits().max_list_items / l.size()) ev.check_list(SIZE_MAX);
  ev.check_list(l.size() * size_t(n));
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), l.begin(), l.end());
  return Value(std::move(out));
}

Value binary_op(std::string_view op, const Value& a, const Value& b, Evaluator& ev) {
  if (op == "~") {
    std::string s = a.to_str() + b.to_str();
    ev.charge_string(s.size());
    return Value(std::move(s));
  }
  const bool nums = a.is_number() && b.is_number();
  const bool ints = nums && !a.is_float() && !b.is_float();
  if (op == "+") {
    if (ints) return checked(kAdd, a.as_int(), b.as_int());
    if (nums) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      ev.charge_string(a.str().size() + b.str().size());
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list()) {
      ev.check_list(a.list().size() + b.list().size());
      List out = a.list();
      out.insert(out.end(), b.list().begin(), b.list().end());
      return Value(std::move(out));
    }
  } else if (op == "-") {
    if (ints) return checked(kSub, a.as_int(), b.as_int());
    if (nums) return Value(a.as_double() - b.as_double());
  } else if (op == "*") {
    if (ints) return checked(kMul, a.as_int(), b.as_int());
    if (nums) return Value(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int(), ev);
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int(), ev);
  } else if (op == "/" || op == "//" || op == "%") {
    if (nums) {
      if (b.as_double() == 0.0) value_error(op == "%" ? "integer modulo by zero" : "division by zero");
      if (op == "/") return Value(a.as_double() / b.as_double());
      if (ints) {
        const int64_t x = a.as_int(), y = b.as_int();
        if (x == INT64_MIN && y == -1) value_error("integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          q -= 1;
          m += y;
        }
        return Value(op == "//" ? q : m);
      }
      const double x = a.as_double(), y = b.as_double();
      if (op == "//") return Value(std::floor(x / y));
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value(m);
    }
    if (op == "%" && a.is_string()) return Value(printf_format(a.str(), b));
  } else if (op == "**") {
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), e = b.as_int(), acc = 1;
      while (e > 0) {
        if (e & 1)
          if (__builtin_mul_overflow(acc, base, &acc)) value_error("integer overflow");
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(base, base, &base)) value_error("integer overflow");
      }
      return Value(acc);
    }
    if (nums && a.as_double() == 0.0 && b.as_double() < 0) value_error("0.0 cannot be raised to a negative power");
    if (nums) return Value(std::pow(a.as_double(), b.as_double()));
  }
  value_error(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name()));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::undefined: return false;
    case Value::Kind::string:
      if (!item.is_string()) value_error(fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::list:
      for (const Value& v : container.list())
        if (v == item) return true;
      return false;
    case Value::Kind::dict: return item.is_string() && container.dict().find(item.str()) != nullptr;
    default: value_error(fmt::format("argument of type '{}' is not iterable", container.type_name()));
  }
}

void add_globals(Evaluator& ev, Scope& g) {
  g.vars["range"] = make_callable("range", [&ev](CallArgs& a) {
    a.expect("range", 3, {});
    if (a.pos.empty()) value_error("range expected at least 1 argument, got 0");
    int64_t start = 0, stop, step = 1;
    if (a.pos.size() == 1) {
      stop = arg_int(&a.pos[0], "range");
    } else {
      start = arg_int(&a.pos[0], "range");
      stop = arg_int(&a.pos[1], "range");
      if (a.pos.size() > 2) step = arg_int(&a.pos[2], "range");
    }
    if (step == 0) value_error("range() arg 3 must not be zero");
    const double n = std::max(0.0, std::ceil((double(stop) - double(start)) / double(step)));
    if (n > double(ev.limits().max_list_items)) ev.check_list(SIZE_MAX);
    ev.check_list(size_t(n));
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
    return Value(std::move(out));
  });
  auto make_mapping = [](bool ns) {
    return [ns](CallArgs& a) {
      auto d = make_dict();
      d->is_namespace = ns;
      if (a.pos.size() > 1) value_error("namespace()/dict() takes at most one positional argument");
      if (!a.pos.empty()) {
        if (!a.pos[0].is_dict()) value_error("namespace()/dict() positional argument must be a mapping");
        for (const auto& [k, v] : a.pos[0].dict().items) d->set(k, v);
      }
      for (auto& [k, v] : a.kw) {
        if (ns && v.holds_namespace()) value_error("a namespace cannot hold another namespace");
        d->set(k, v);
      }
      return Value(std::move(d));
    };
  };
  g.vars["namespace"] = make_callable("namespace", make_mapping(true));
  g.vars["dict"] = make_callable("dict", make_mapping(false));
  g.vars["raise_exception"] = make_callable("raise_exception", [](CallArgs& a) -> Value {
    value_error("template raised an error: " + (a.pos.empty() ? std::string() : a.pos[0].to_str()));
  });
  g.vars["strftime_now"] = make_callable("strftime_now", [&ev](CallArgs& a) {
    a.expect("strftime_now", 1, {});
    const std::string& f = arg_str(a.get(0, ""), "strftime_now");
    char buf[512];
    const size_t n = f.size() < 200 ? std::strftime(buf, sizeof buf, f.c_str(), &ev.now()) : 0;
    if (n == 0 && !f.empty()) value_error("strftime_now(): format too long or empty result");
    return Value(std::string(buf, n));
  });
}

}  // namespace slm::jinja
