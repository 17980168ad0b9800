// libFuzzer target for the safetensors reader: any input either parses or throws slm::Error. A parsed
// input must re-write through the Writer and parse back to the same tensors.
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "io/safetensors.h"

volatile unsigned g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::safetensors;
  std::optional<File> parsed;
  try {
    parsed = File::parse(std::span<const uint8_t>(data, size), "fuzz");
  } catch (const slm::Error&) {
    return 0;
  }
  const File& f = *parsed;
  unsigned sum = 0;
  Writer w;
  for (const TensorInfo& t : f.tensors()) {
    const auto d = f.tensor_data(t);  // every view must lie inside the input
    if (!d.empty()) sum += d.front() + d.back();
    if (f.find(t.name) != &t) __builtin_trap();
    w.add_tensor(t.name, t.type, t.shape, d);  // shapes and byte counts were validated: must not throw
  }
  for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
  const std::vector<uint8_t> out = w.to_bytes();
  const File g = File::parse(out, "rewritten");
  if (g.tensors().size() != f.tensors().size() || g.metadata() != f.metadata()) __builtin_trap();
  for (const TensorInfo& t : f.tensors()) {
    const TensorInfo* u = g.find(t.name);
    if (!u || u->type != t.type || u->shape != t.shape) __builtin_trap();
    const auto a = f.tensor_data(t), b = g.tensor_data(*u);
    if (a.size() != b.size() || (!a.empty() && std::memcmp(a.data(), b.data(), a.size()) != 0)) __builtin_trap();
  }
  g_sink = sum;
  return 0;
}
