// GGUF summaries for `slm inspect`: JSON and text views over a parsed File.
#include "io/gguf_inspect.h"

#include <fmt/format.h>

#include <map>

namespace slm::gguf {
namespace {

using nlohmann::json;

json value_json(const Value& v, const InspectOptions& opt);

json array_json(const Array& a, const InspectOptions& opt) {
  json items = json::array();
  for (size_t i = 0; i < a.items.size() && i < opt.max_items; ++i) items.push_back(value_json(a.items[i], opt));
  return json{{"type", "array"},
              {"elem_type", value_type_name(a.elem_type)},
              {"length", a.items.size()},
              {"items", std::move(items)},
              {"truncated", a.items.size() > opt.max_items}};
}

json value_json(const Value& v, const InspectOptions& opt) {
  return std::visit(
      [&](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Array>) {
          return array_json(x, opt);
        } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, uint16_t> ||
                             std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>) {
          return json(uint64_t(x));
        } else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, int16_t> ||
                             std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
          return json(int64_t(x));
        } else {
          return json(x);  // bool, float, double, string
        }
      },
      v.data);
}

std::string quoted(const std::string& s, size_t max_chars) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') out += {'\\', char(c)};
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += char(c);
  }
  out += '"';
  if (s.size() > max_chars) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

std::string value_text(const Value& v, const InspectOptions& opt) {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Array>) {
          std::string out = "[";
          for (size_t i = 0; i < x.items.size() && i < opt.max_items; ++i)
            out += (i ? ", " : "") + value_text(x.items[i], opt);
          if (x.items.size() > opt.max_items) out += fmt::format(", ... ({} items)", x.items.size());
          return out + "]";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return quoted(x, opt.max_string_text);
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
          return fmt::format("{}", int(x));
        } else {
          return fmt::format("{}", x);
        }
      },
      v.data);
}

std::string type_text(const Value& v) {
  if (const Array* a = std::get_if<Array>(&v.data))
    return fmt::format("array<{}>[{}]", value_type_name(a->elem_type), a->items.size());
  return value_type_name(v.type());
}

std::string shape_text(const std::vector<int64_t>& ne) {
  std::string out;
  for (size_t i = 0; i < ne.size(); ++i) out += fmt::format("{}{}", i ? " x " : "", ne[i]);
  return out;
}

std::string human_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < (uint64_t(1) << 30)) return fmt::format("{:.1f} MiB", n / (1024.0 * 1024.0));
  return fmt::format("{:.2f} GiB", n / double(uint64_t(1) << 30));
}

std::string human_count(uint64_t n) {
  if (n < 1000) return fmt::format("{}", n);
  if (n < 1000000) return fmt::format("{:.1f}K", n / 1e3);
  if (n < 1000000000) return fmt::format("{:.1f}M", n / 1e6);
  return fmt::format("{:.2f}B", n / 1e9);
}

struct TypeTotals {
  size_t tensors = 0;
  uint64_t bytes = 0;
};

std::map<std::string, TypeTotals> totals_by_type(const File& f) {
  std::map<std::string, TypeTotals> m;
  for (const TensorInfo& t : f.tensors()) {
    TypeTotals& tt = m[std::string(dtype_info(t.type).name)];
    tt.tensors += 1;
    tt.bytes += t.n_bytes;
  }
  return m;
}

uint64_t parameter_count(const File& f) {
  uint64_t n = 0;
  for (const TensorInfo& t : f.tensors()) n += uint64_t(t.n_elements());
  return n;
}

}  // namespace

json inspect_json(const File& f, const InspectOptions& opt) {
  json meta = json::array();
  for (const KeyValue& kv : f.metadata()) {
    json v = value_json(kv.value, opt);
    json entry;
    if (kv.value.type() == ValueType::array) {
      entry = std::move(v);
      entry["key"] = kv.key;
    } else {
      entry = json{{"key", kv.key}, {"type", value_type_name(kv.value.type())}, {"value", std::move(v)}};
    }
    meta.push_back(std::move(entry));
  }
  json tensors = json::array();
  for (const TensorInfo& t : f.tensors()) {
    tensors.push_back(json{{"name", t.name},
                           {"type", std::string(dtype_info(t.type).name)},
                           {"shape", t.ne},
                           {"n_elements", t.n_elements()},
                           {"bytes", t.n_bytes},
                           {"offset", t.offset}});
  }
  json by_type = json::object();
  for (const auto& [name, tt] : totals_by_type(f)) by_type[name] = json{{"tensors", tt.tensors}, {"bytes", tt.bytes}};
  return json{{"file", f.name()},
              {"version", f.version()},
              {"alignment", f.alignment()},
              {"data_offset", f.data_offset()},
              {"size", f.bytes().size()},
              {"metadata", std::move(meta)},
              {"tensors", std::move(tensors)},
              {"n_parameters", parameter_count(f)},
              {"bytes_by_type", std::move(by_type)}};
}

std::string inspect_text(const File& f, const InspectOptions& opt) {
  std::string out = fmt::format("{}: GGUF v{}, {} metadata keys, {} tensors, alignment {}, data at offset {}, {}\n",
                                f.name(), f.version(), f.metadata().size(), f.tensors().size(), f.alignment(),
                                f.data_offset(), human_bytes(f.bytes().size()));
  size_t key_w = 3, type_w = 4;
  for (const KeyValue& kv : f.metadata()) {
    key_w = std::max(key_w, kv.key.size());
    type_w = std::max(type_w, type_text(kv.value).size());
  }
  out += "\nmetadata:\n";
  for (const KeyValue& kv : f.metadata())
    out += fmt::format("  {:<{}}  {:<{}}  {}\n", kv.key, key_w, type_text(kv.value), type_w, value_text(kv.value, opt));

  if (!f.tensors().empty()) {
    size_t name_w = 4, shape_w = 5;
    for (const TensorInfo& t : f.tensors()) {
      name_w = std::max(name_w, t.name.size());
      shape_w = std::max(shape_w, shape_text(t.ne).size());
    }
    out += fmt::format("\ntensors:\n  {:<{}}  {:<7}  {:<{}}  {:>12}  {:>12}\n", "name", name_w, "type", "shape", shape_w,
                       "bytes", "offset");
    for (const TensorInfo& t : f.tensors())
      out += fmt::format("  {:<{}}  {:<7}  {:<{}}  {:>12}  {:>12}\n", t.name, name_w, dtype_info(t.type).name,
                         shape_text(t.ne), shape_w, t.n_bytes, t.offset);
  }
  const uint64_t n_params = parameter_count(f);
  out += fmt::format("\nparameters: {} ({})\n", human_count(n_params), n_params);
  out += "bytes by type:\n";
  for (const auto& [name, tt] : totals_by_type(f))
    out += fmt::format("  {:<7}  {:>5} tensors  {:>12} bytes  ({})\n", name, tt.tensors, tt.bytes, human_bytes(tt.bytes));
  return out;
}

}  // namespace slm::gguf
