// libFuzzer target for the GGUF reader: any input either parses or throws slm::Error. A parsed input
// must also round-trip byte for byte through the Writer and inspect without error.
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_inspect.h"

volatile unsigned g_sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slm::gguf;
  std::optional<File> parsed;
  try {
    parsed = File::parse(std::span<const uint8_t>(data, size), "fuzz");
  } catch (const slm::Error&) {
    return 0;
  }
  const File& f = *parsed;
  unsigned sum = 0;
  for (const TensorInfo& t : f.tensors()) {
    const auto d = f.tensor_data(t);  // every view must lie inside the input
    if (!d.empty()) sum += d.front() + d.back();
    if (f.find_tensor(t.name) == nullptr) __builtin_trap();
  }
  for (const KeyValue& kv : f.metadata())
    if (f.find(kv.key) == nullptr) __builtin_trap();
  try {
    (void)f.get_uint("general.alignment");
    (void)f.get_string("general.architecture");
    (void)f.get_array("tokenizer.ggml.tokens");
  } catch (const slm::Error&) {  // a type mismatch is a valid outcome
  }
  const std::vector<uint8_t> out = Writer::from(f).to_bytes();
  if (out.size() != size || std::memcmp(out.data(), data, size) != 0) __builtin_trap();  // not byte-exact
  sum += unsigned(inspect_text(f).size());
  sum += unsigned(inspect_json(f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size());
  g_sink = sum;  // keeps the reads observable
  return 0;
}
