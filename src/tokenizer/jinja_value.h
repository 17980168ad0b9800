// The Jinja engine's dynamic value: Python-like undefined/None/bool/int/float/str/list/dict/callable,
// with Python's truthiness, equality, ordering, str(), repr() and json.dumps() formatting.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace slm::jinja {

// Thrown by value operations and builtins; the evaluator adds "line L col C" and turns it into slm::Error.
struct ValueError {
  std::string message;
};
[[noreturn]] void value_error(std::string message);

class Value;
struct Dict;
struct Callable;
using List = std::vector<Value>;

struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // The keyword `name`, else positional `index`, else nullptr; marks nothing.
  const Value* get(size_t index, std::string_view name) const;
  // Fails when more than `n_pos` positional or a keyword outside `names` is given.
  void expect(std::string_view fn, size_t n_pos, std::initializer_list<std::string_view> names) const;
};

class Value {
 public:
  enum class Kind : uint8_t { undefined, none, boolean, integer, floating, string, list, dict, callable };

  Value() = default;  // undefined
  static Value none() { return Value(Data(nullptr)); }
  Value(bool b) : data_(b) {}
  Value(int64_t i) : data_(i) {}
  Value(int i) : data_(int64_t(i)) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(List l);  // fails past kMaxNesting levels of nesting
  static Value tuple(List l);  // a list that prints as a Python tuple
  Value(std::shared_ptr<Dict> d) : data_(std::move(d)) {}
  Value(std::shared_ptr<Callable> c) : data_(std::move(c)) {}
  // Lists and dicts nest at most this deep, so that formatting and destruction stay shallow.
  static constexpr int kMaxNesting = 512;
  // JSON -> Value; objects keep their key order; fails past `max_depth` nesting.
  static Value from_json(const nlohmann::ordered_json& j, int max_depth = 256);

  Kind kind() const { return Kind(data_.index()); }
  bool is_undefined() const { return kind() == Kind::undefined; }
  bool is_none() const { return kind() == Kind::none; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_int() const { return kind() == Kind::integer; }
  bool is_float() const { return kind() == Kind::floating; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::string; }
  bool is_list() const { return kind() == Kind::list; }
  bool is_dict() const { return kind() == Kind::dict; }
  bool is_callable() const { return kind() == Kind::callable; }
  bool is_tuple() const { return tuple_; }
  int depth() const;               // 0 for scalars, 1 + deepest element for containers
  bool holds_namespace() const;    // is or contains a namespace() (which must not nest: no cycles)

  // Typed access; the wrong type fails with ValueError ("expected an integer, got 'str'").
  bool as_bool() const { return *get<bool>("a boolean"); }
  int64_t as_int() const { return is_bool() ? int64_t(as_bool()) : *get<int64_t>("an integer"); }
  double as_double() const { return is_float() ? *get<double>("a number") : double(as_int()); }
  const std::string& str() const { return **get<std::shared_ptr<const std::string>>("a string"); }
  const List& list() const { return **get<std::shared_ptr<List>>("a list"); }
  const Dict& dict() const { return **get<std::shared_ptr<Dict>>("a mapping"); }
  Dict& dict_mut() const { return **get<std::shared_ptr<Dict>>("a mapping"); }
  const Callable& callable() const { return **get<std::shared_ptr<Callable>>("a function"); }

  const char* type_name() const;  // Python's: "str", "int", "list", "dict", "NoneType", ...
  bool truthy() const;
  std::string to_str() const;  // Python str(); undefined -> ""
  std::string repr() const;    // Python repr()
  // json.dumps(self, ensure_ascii=False, indent, separators, sort_keys); indent "" = no newlines.
  struct JsonStyle {
    std::optional<std::string> indent;  // nullopt = single line
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
  };
  std::string to_json(const JsonStyle& style) const;
  // Items for iteration: list elements, dict keys, string characters; undefined is empty.
  List iterate() const;

  friend bool operator==(const Value& a, const Value& b);
  // Python ordering; fails for unorderable types. Returns <0, 0, >0.
  static int compare(const Value& a, const Value& b);

 private:
  using Data = std::variant<std::monostate, std::nullptr_t, bool, int64_t, double, std::shared_ptr<const std::string>,
                            std::shared_ptr<List>, std::shared_ptr<Dict>, std::shared_ptr<Callable>>;
  explicit Value(Data d) : data_(std::move(d)) {}
  template <typename T>
  const T* get(const char* what) const {
    if (const T* p = std::get_if<T>(&data_)) return p;
    value_error(std::string("expected ") + what + ", got '" + type_name() + "'");
  }
  Data data_;
  uint16_t depth_ = 0;    // lists only
  bool has_ns_ = false;   // lists only
  bool tuple_ = false;    // lists only
};

// Insertion-ordered mapping with string keys (a Python dict, or a jinja namespace()).
struct Dict {
  bool is_namespace = false;
  std::vector<std::pair<std::string, Value>> items;

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
  size_t size() const { return items.size(); }
  int depth = 1;
  bool has_ns = false;  // some value inside is a namespace

 private:
  std::unordered_map<std::string, size_t> index_;
};
std::shared_ptr<Dict> make_dict();

struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> fn;
};
Value make_callable(std::string name, std::function<Value(CallArgs&)> fn);

// Python's repr() of a float ("1.0", "0.1", "1e+16", "inf").
std::string format_float(double d);

}  // namespace slm::jinja
