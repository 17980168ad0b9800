// libFuzzer target for the Hugging Face config.json a conversion reads (`slm convert`): a JSON document
// whose architectures[0] names a known family either maps to GGUF hyper-parameters, head counts and the
// generated rope tensors, or throws slm::Error naming the key; never another exception, a crash or an
// allocation the config alone sizes without bound.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "convert/families.h"
#include "core/error.h"

volatile size_t g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::convert;
  const nlohmann::json c =
      nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (c.is_discarded() || !c.is_object()) return 0;
  const auto arch = c.find("architectures");
  if (arch == c.end() || !arch->is_array() || arch->empty() || !arch->front().is_string()) return 0;
  const Family* f = family_for_hf_class(arch->front().get<std::string>());
  if (!f) return 0;
  size_t sum = 0;
  try {
    sum += hparams_to_gguf(*f, c).size();
  } catch (const slm::Error&) {
  }
  try {
    const HeadCounts h = head_counts(c);
    if (h.n_head <= 0 || h.n_head_kv <= 0) __builtin_trap();
  } catch (const slm::Error&) {
  }
  try {
    for (const auto& [name, v] : generated_tensors(*f, c)) sum += name.size() + v.size();
  } catch (const slm::Error&) {
  }
  g_sink = sum;
  return 0;
}
