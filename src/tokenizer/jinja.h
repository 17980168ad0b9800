// A Jinja template engine covering the subset real chat templates use, rendering like Python jinja2
// configured as Hugging Face transformers does (trim_blocks, lstrip_blocks, loopcontrols, tojson =
// json.dumps(ensure_ascii=False), raise_exception, strftime_now).
//
// Templates are untrusted input: every unsupported construct, bad value or exceeded limit throws
// slm::Error("[jinja] line L col C: ...") and nothing crashes, hangs or grows without bound.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/jinja_lexer.h"

namespace slm::jinja {

struct Limits {
  size_t max_source_bytes = 4u << 20;   // template text
  size_t max_output_bytes = 16u << 20;  // the rendered string and any string built on the way
  size_t max_list_items = 1u << 20;     // any list built on the way (range(), +, *)
  uint64_t max_steps = 50'000'000;      // evaluation work (nodes, loop iterations, bytes / 64)
  int max_call_depth = 64;              // nested macro calls
};

struct RenderOptions {
  // The clock for strftime_now(); nullopt = the local time when rendering.
  std::optional<std::tm> now;
  Limits limits;
};

class Template {
 public:
  // Parses `source`; throws slm::Error on syntax errors and unsupported tags.
  explicit Template(std::string_view source, const Options& opt = {}, const Limits& limits = {});
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the variables of the JSON object `vars` (keys absent = undefined, null = none).
  std::string render(const nlohmann::ordered_json& vars, const RenderOptions& opt = {}) const;

  const std::string& source() const;  // normalised source

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slm::jinja
