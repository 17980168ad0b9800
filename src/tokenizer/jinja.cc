// Template: parse once, render many times with fresh scopes.
#include "tokenizer/jinja.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_eval.h"

namespace slm::jinja {

struct Template::Impl {
  std::string source;
  Body body;
};

Template::Template(std::string_view source, const Options& opt, const Limits& limits) : impl_(std::make_unique<Impl>()) {
  if (source.size() > limits.max_source_bytes)
    throw Error(fmt::format("[jinja] template of {} bytes exceeds the limit of {} bytes", source.size(), limits.max_source_bytes));
  impl_->source = normalize_source(source, opt);
  impl_->body = parse(impl_->source, opt);
}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

const std::string& Template::source() const { return impl_->source; }

std::string Template::render(const nlohmann::ordered_json& vars, const RenderOptions& opt) const {
  if (!vars.is_object() && !vars.is_null()) throw Error("[jinja] render variables must be a JSON object");
  Scope globals;
  Scope context{{}, &globals};
  Evaluator ev(impl_->source, opt, &context);
  add_globals(ev, globals);
  if (vars.is_object()) {
    for (const auto& [k, v] : vars.items()) {
      try {
        context.vars[k] = Value::from_json(v);
      } catch (const ValueError& e) {
        throw Error(fmt::format("[jinja] variable '{}': {}", k, e.message));
      }
    }
  }
  std::string out;
  try {
    ev.render(impl_->body, out);
  } catch (const ValueError& e) {
    throw Error(fmt::format("[jinja] {}", e.message));
  }
  return out;
}

}  // namespace slm::jinja
