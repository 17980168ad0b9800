// gguf_metadata.json (de)serialisation with exact GGUF value types.
#include "convert/side_file.h"

#include <cmath>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace slm::convert {
namespace {

using json = nlohmann::json;
using gguf::Value;
using gguf::ValueType;

constexpr const char* kFormat = "slm-gguf-side/1";

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}

json string_to_json(const std::string& s) {
  if (valid_utf8(s)) return s;
  static const char* hex = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) h += {hex[c >> 4], hex[c & 15]};
  return json{{"hex", h}};
}

std::string string_from_json(const json& j, const std::string& where) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("hex") && j["hex"].is_string()) {
    const std::string h = j["hex"].get<std::string>();
    auto nib = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      fail("[convert] {}: bad hex string", where);
    };
    if (h.size() % 2) fail("[convert] {}: odd hex string", where);
    std::string s;
    for (size_t i = 0; i < h.size(); i += 2) s += char(nib(h[i]) * 16 + nib(h[i + 1]));
    return s;
  }
  fail("[convert] {}: expected a string", where);
}

template <typename F>
json float_to_json(F v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return double(v);
}

double float_from_json(const json& j, const std::string& where) {
  if (j.is_number()) return j.get<double>();
  if (j == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (j == "inf") return std::numeric_limits<double>::infinity();
  if (j == "-inf") return -std::numeric_limits<double>::infinity();
  fail("[convert] {}: expected a number", where);
}

json payload(const Value& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return string_to_json(x);
        } else if constexpr (std::is_same_v<T, gguf::Array>) {
          json a = json::array();
          for (const Value& e : x.items) a.push_back(payload(e));
          return a;
        } else if constexpr (std::is_floating_point_v<T>) {
          return float_to_json(x);
        } else {
          return x;
        }
      },
      v.data);
}

ValueType type_from_name(const std::string& n, const std::string& where) {
  for (uint32_t t = 0; t <= 12; ++t)
    if (n == gguf::value_type_name(ValueType(t))) return ValueType(t);
  fail("[convert] {}: unknown value type '{}'", where, n);
}

template <typename T>
T int_from_json(const json& j, const std::string& where) {
  if (!j.is_number_integer()) fail("[convert] {}: expected an integer", where);
  if constexpr (std::is_signed_v<T>) {
    const int64_t v = j.get<int64_t>();
    if (v < int64_t(std::numeric_limits<T>::min()) || v > int64_t(std::numeric_limits<T>::max()))
      fail("[convert] {}: {} out of range", where, v);
    return T(v);
  } else {
    if (j.is_number_unsigned() ? false : j.get<int64_t>() < 0) fail("[convert] {}: negative value", where);
    const uint64_t v = j.get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<T>::max())) fail("[convert] {}: {} out of range", where, v);
    return T(v);
  }
}

Value scalar_from_json(ValueType t, const json& j, const std::string& where) {
  switch (t) {
    case ValueType::u8: return Value{int_from_json<uint8_t>(j, where)};
    case ValueType::i8: return Value{int_from_json<int8_t>(j, where)};
    case ValueType::u16: return Value{int_from_json<uint16_t>(j, where)};
    case ValueType::i16: return Value{int_from_json<int16_t>(j, where)};
    case ValueType::u32: return Value{int_from_json<uint32_t>(j, where)};
    case ValueType::i32: return Value{int_from_json<int32_t>(j, where)};
    case ValueType::u64: return Value{int_from_json<uint64_t>(j, where)};
    case ValueType::i64: return Value{int_from_json<int64_t>(j, where)};
    case ValueType::f32: return Value{float(float_from_json(j, where))};
    case ValueType::f64: return Value{float_from_json(j, where)};
    case ValueType::boolean:
      if (!j.is_boolean()) fail("[convert] {}: expected a boolean", where);
      return Value{j.get<bool>()};
    case ValueType::string: return Value{string_from_json(j, where)};
    case ValueType::array: break;
  }
  fail("[convert] {}: nested value types are described by 'elem'", where);
}

}  // namespace

json value_to_json(const Value& v) {
  json j{{"type", gguf::value_type_name(v.type())}};
  if (const auto* a = std::get_if<gguf::Array>(&v.data)) {
    j["elem"] = gguf::value_type_name(a->elem_type);
    if (a->elem_type == ValueType::array) {  // nested arrays: each item carries its own description
      json items = json::array();
      for (const Value& e : a->items) items.push_back(value_to_json(e));
      j["value"] = items;
      return j;
    }
  }
  j["value"] = payload(v);
  return j;
}

Value value_from_json(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string() || !j.contains("value"))
    fail("[convert] {}: a value needs 'type' and 'value'", where);
  const ValueType t = type_from_name(j["type"].get<std::string>(), where);
  if (t != ValueType::array) return scalar_from_json(t, j["value"], where);
  if (!j.contains("elem") || !j["elem"].is_string() || !j["value"].is_array())
    fail("[convert] {}: an array needs 'elem' and a list 'value'", where);
  gguf::Array a{type_from_name(j["elem"].get<std::string>(), where), {}};
  a.items.reserve(j["value"].size());
  for (const json& e : j["value"])
    a.items.push_back(a.elem_type == ValueType::array ? value_from_json(e, where) : scalar_from_json(a.elem_type, e, where));
  return Value{std::move(a)};
}

json side_to_json(const SideFile& s) {
  json j{{"format", kFormat}, {"version", s.version}, {"alignment", s.alignment}};
  json md = json::array();
  for (const gguf::KeyValue& kv : s.metadata) {
    json e = value_to_json(kv.value);
    e["key"] = string_to_json(kv.key);
    md.push_back(std::move(e));
  }
  j["metadata"] = std::move(md);
  json ts = json::array();
  for (const SideTensor& t : s.tensors)
    ts.push_back({{"name", t.name}, {"type", std::string(dtype_info(t.type).name)}, {"hf", t.hf}});
  j["tensors"] = std::move(ts);
  if (!s.tokenizer_fingerprint.empty()) j["tokenizer_fingerprint"] = s.tokenizer_fingerprint;
  return j;
}

SideFile side_from_json(const json& j, const std::string& where) {
  if (!j.is_object() || j.value("format", "") != kFormat)
    fail("[convert] {}: not a side file of format '{}'", where, kFormat);
  SideFile s;
  s.version = j.value("version", 3u);
  s.alignment = j.value("alignment", uint64_t(32));
  for (const json& e : j.value("metadata", json::array())) {
    if (!e.is_object() || !e.contains("key")) fail("[convert] {}: metadata entry without 'key'", where);
    const std::string key = string_from_json(e["key"], where);
    s.metadata.push_back({key, value_from_json(e, where + ": key '" + key + "'")});
  }
  for (const json& e : j.value("tensors", json::array())) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("type") || !e["type"].is_string())
      fail("[convert] {}: tensor entry needs 'name' and 'type'", where);
    const auto t = dtype_from_name(e["type"].get<std::string>());
    if (!t) fail("[convert] {}: tensor '{}': unknown type '{}'", where, e["name"].get<std::string>(), e["type"].get<std::string>());
    s.tensors.push_back({e["name"].get<std::string>(), *t, e.value("hf", "")});
  }
  s.tokenizer_fingerprint = j.value("tokenizer_fingerprint", "");
  return s;
}

std::string files_fingerprint(const std::vector<std::string>& paths) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const std::string& p : paths) {
    std::ifstream in(p, std::ios::binary);
    char buf[1 << 16];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 0x100000001b3ull;
      if (!in) break;
    }
    h = (h ^ 0xff) * 0x100000001b3ull;  // separator, so that moving bytes between files changes the hash
  }
  return fmt::format("{:016x}", h);
}

}  // namespace slm::convert
