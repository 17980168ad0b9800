// The Jinja engine's dynamic value: Python semantics for truthiness, equality, ordering and formatting.
#include "tokenizer/jinja_value.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "tokenizer/jinja_text.h"

namespace slm::jinja {

namespace {
constexpr int kMaxFormatDepth = 256;
}

void value_error(std::string message) { throw ValueError{std::move(message)}; }

const Value* CallArgs::get(size_t index, std::string_view name) const {
  for (const auto& [k, v] : kw)
    if (k == name) return &v;
  return index < pos.size() ? &pos[index] : nullptr;
}

void CallArgs::expect(std::string_view fn, size_t n_pos, std::initializer_list<std::string_view> names) const {
  if (pos.size() > n_pos) value_error(fmt::format("{}() takes at most {} positional arguments, got {}", fn, n_pos, pos.size()));
  for (const auto& [k, v] : kw) {
    if (std::find(names.begin(), names.end(), std::string_view(k)) == names.end())
      value_error(fmt::format("{}() got an unexpected keyword argument '{}'", fn, k));
  }
}

const Value* Dict::find(std::string_view key) const {
  if (items.size() < 8) {
    for (const auto& [k, v] : items)
      if (k == key) return &v;
    return nullptr;
  }
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &items[it->second].second;
}

Value::Value(List l) {
  int d = 0;
  bool ns = false;
  for (const Value& e : l) {
    d = std::max(d, e.depth());
    ns = ns || e.holds_namespace();
  }
  if (d + 1 > kMaxNesting) value_error(fmt::format("value nested deeper than {} levels", kMaxNesting));
  data_ = std::make_shared<List>(std::move(l));
  depth_ = uint16_t(d + 1);
  has_ns_ = ns;
}

Value Value::tuple(List l) {
  Value v(std::move(l));
  v.tuple_ = true;
  return v;
}

int Value::depth() const {
  if (is_list()) return depth_;
  if (is_dict()) return dict().depth;
  return 0;
}

bool Value::holds_namespace() const {
  if (is_list()) return has_ns_;
  if (is_dict()) return dict().is_namespace || dict().has_ns;
  return false;
}

void Dict::set(const std::string& key, Value v) {
  if (v.depth() + 1 > Value::kMaxNesting)
    value_error(fmt::format("value nested deeper than {} levels", Value::kMaxNesting));
  depth = std::max(depth, v.depth() + 1);
  has_ns = has_ns || v.holds_namespace();
  auto it = index_.find(key);
  if (it != index_.end()) {
    items[it->second].second = std::move(v);
    return;
  }
  index_.emplace(key, items.size());
  items.emplace_back(key, std::move(v));
}

std::shared_ptr<Dict> make_dict() { return std::make_shared<Dict>(); }

Value make_callable(std::string name, std::function<Value(CallArgs&)> fn) {
  return Value(std::make_shared<Callable>(Callable{std::move(name), std::move(fn)}));
}

static Value from_json_at(const nlohmann::ordered_json& j, int depth, int max_depth) {
  if (depth > max_depth) value_error(fmt::format("JSON input nested deeper than {} levels", max_depth));
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u > uint64_t(INT64_MAX) ? Value(double(u)) : Value(int64_t(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      l.reserve(j.size());
      for (const auto& e : j) l.push_back(from_json_at(e, depth + 1, max_depth));
      return Value(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = make_dict();
      for (const auto& [k, v] : j.items()) d->set(k, from_json_at(v, depth + 1, max_depth));
      return Value(std::move(d));
    }
    default: value_error("unsupported JSON value (binary)");
  }
}

Value Value::from_json(const nlohmann::ordered_json& j, int max_depth) { return from_json_at(j, 0, max_depth); }

const char* Value::type_name() const {
  switch (kind()) {
    case Kind::undefined: return "undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::list: return "list";
    case Kind::dict: return dict().is_namespace ? "Namespace" : "dict";
    case Kind::callable: return "function";
  }
  return "?";
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::undefined:
    case Kind::none: return false;
    case Kind::boolean: return as_bool();
    case Kind::integer: return as_int() != 0;
    case Kind::floating: return as_double() != 0.0;
    case Kind::string: return !str().empty();
    case Kind::list: return !list().empty();
    case Kind::dict: return dict().is_namespace || dict().size() != 0;
    case Kind::callable: return true;
  }
  return false;
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // [-]d[.ddd]e[+-]XX
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t epos = sci.find('e');
  const int exp = std::stoi(sci.substr(epos + 1));
  std::string digits = sci.substr(0, epos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int n = int(digits.size());
  std::string out = sign;
  if (exp >= -4 && exp < 16) {
    if (exp >= n - 1) {
      out += digits + std::string(size_t(exp - n + 1), '0') + ".0";
    } else if (exp >= 0) {
      out += digits.substr(0, size_t(exp + 1)) + "." + digits.substr(size_t(exp + 1));
    } else {
      out += "0." + std::string(size_t(-exp - 1), '0') + digits;
    }
  } else {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
  }
  return out;
}

static void repr_into(const Value& v, std::string& out, int depth) {
  if (depth > kMaxFormatDepth) value_error("value nested too deeply to format");
  switch (v.kind()) {
    case Value::Kind::string: out += text::py_repr(v.str()); return;
    case Value::Kind::list: {
      out += v.is_tuple() ? '(' : '[';
      bool first = true;
      for (const Value& e : v.list()) {
        if (!first) out += ", ";
        first = false;
        repr_into(e, out, depth + 1);
      }
      if (v.is_tuple() && v.list().size() == 1) out += ',';
      out += v.is_tuple() ? ')' : ']';
      return;
    }
    case Value::Kind::dict: {
      if (v.dict().is_namespace) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.dict().items) {
        if (!first) out += ", ";
        first = false;
        out += text::py_repr(k);
        out += ": ";
        repr_into(e, out, depth + 1);
      }
      out += '}';
      if (v.dict().is_namespace) out += '>';
      return;
    }
    case Value::Kind::undefined: out += "Undefined"; return;
    default: out += v.to_str(); return;
  }
}

std::string Value::to_str() const {
  switch (kind()) {
    case Kind::undefined: return "";
    case Kind::none: return "None";
    case Kind::boolean: return as_bool() ? "True" : "False";
    case Kind::integer: return std::to_string(as_int());
    case Kind::floating: return format_float(as_double());
    case Kind::string: return str();
    case Kind::callable: return "<function " + callable().name + ">";
    default: {
      std::string out;
      repr_into(*this, out, 0);
      return out;
    }
  }
}

std::string Value::repr() const {
  std::string out;
  repr_into(*this, out, 0);
  return out;
}

static void json_into(const Value& v, const Value::JsonStyle& st, std::string& out, int depth) {
  if (depth > kMaxFormatDepth) value_error("value nested too deeply for tojson");
  auto newline = [&](int level) {
    if (!st.indent) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += *st.indent;
  };
  switch (v.kind()) {
    case Value::Kind::none: out += "null"; return;
    case Value::Kind::boolean: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::integer: out += std::to_string(v.as_int()); return;
    case Value::Kind::floating: {
      const double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
      else out += format_float(d);
      return;
    }
    case Value::Kind::string: text::json_quote(out, v.str()); return;
    case Value::Kind::list: {
      if (v.list().empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const Value& e : v.list()) {
        if (!first) out += st.item_sep;
        first = false;
        newline(depth + 1);
        json_into(e, st, out, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::dict: {
      if (v.dict().is_namespace) value_error("Object of type Namespace is not JSON serializable");
      if (v.dict().size() == 0) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.dict().items) items.push_back(&kv);
      if (st.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      bool first = true;
      for (const auto* kv : items) {
        if (!first) out += st.item_sep;
        first = false;
        newline(depth + 1);
        text::json_quote(out, kv->first);
        out += st.key_sep;
        json_into(kv->second, st, out, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    }
    case Value::Kind::undefined: value_error("Object of type Undefined is not JSON serializable");
    case Value::Kind::callable: value_error("Object of type function is not JSON serializable");
  }
}

std::string Value::to_json(const JsonStyle& style) const {
  std::string out;
  json_into(*this, style, out, 0);
  return out;
}

List Value::iterate() const {
  switch (kind()) {
    case Kind::undefined: return {};
    case Kind::list: return list();
    case Kind::dict: {
      List keys;
      keys.reserve(dict().size());
      for (const auto& [k, v] : dict().items) keys.emplace_back(k);
      return keys;
    }
    case Kind::string: {
      List chars;
      for (char32_t c : text::decode(str())) {
        std::string s;
        text::append_utf8(s, c);
        chars.emplace_back(std::move(s));
      }
      return chars;
    }
    default: value_error(fmt::format("'{}' object is not iterable", type_name()));
  }
}

static bool equal_at(const Value& a, const Value& b, int depth) {
  if (depth > kMaxFormatDepth) value_error("value nested too deeply to compare");
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::undefined:
    case Value::Kind::none: return true;
    case Value::Kind::string: return a.str() == b.str();
    case Value::Kind::list: {
      const List &x = a.list(), &y = b.list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equal_at(x[i], y[i], depth + 1)) return false;
      return true;
    }
    case Value::Kind::dict: {
      if (a.dict().is_namespace || b.dict().is_namespace) return &a.dict() == &b.dict();
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [k, v] : a.dict().items) {
        const Value* o = b.dict().find(k);
        if (!o || !equal_at(v, *o, depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::callable: return &a.callable() == &b.callable();
    default: return false;
  }
}

bool operator==(const Value& a, const Value& b) { return equal_at(a, b, 0); }

int Value::compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());  // UTF-8 byte order == codepoint order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    const List &x = a.list(), &y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i] == y[i]) continue;
      return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  value_error(fmt::format("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name()));
}

}  // namespace slm::jinja
