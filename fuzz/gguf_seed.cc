// Writes the GGUF fuzz seed corpus into a directory: small valid files covering every value type,
// nested arrays, v2 and v3, alignment variants, several tensor types and explicit offsets.
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"

namespace {

using namespace slm;
using namespace slm::gguf;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed * 31 + i);
  return b;
}

Value arr(ValueType t, std::vector<Value> items) { return Value{Array{t, std::move(items)}}; }

void add_every_value_type(Writer& w) {
  w.add_kv("general.architecture", Value{std::string("llama")});
  w.add_kv("u8", Value{uint8_t(7)});
  w.add_kv("i8", Value{int8_t(-7)});
  w.add_kv("u16", Value{uint16_t(700)});
  w.add_kv("i16", Value{int16_t(-700)});
  w.add_kv("u32", Value{uint32_t(70000)});
  w.add_kv("i32", Value{int32_t(-70000)});
  w.add_kv("f32", Value{0.5f});
  w.add_kv("bool", Value{true});
  w.add_kv("u64", Value{uint64_t(1) << 40});
  w.add_kv("i64", Value{-(int64_t(1) << 40)});
  w.add_kv("f64", Value{0.25});
  w.add_kv("tokenizer.ggml.tokens", arr(ValueType::string, {Value{std::string("<s>")}, Value{std::string("a")}}));
  w.add_kv("scores", arr(ValueType::f32, {Value{0.f}, Value{-1.f}}));
  w.add_kv("nested", arr(ValueType::array, {arr(ValueType::i32, {Value{int32_t(1)}}),
                                            arr(ValueType::array, {arr(ValueType::u8, {})})}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_seed OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    const auto f32 = pattern(8 * 4 * 4, 1), f16 = pattern(16 * 2, 2), q4 = pattern(18 * 2, 3),
               q8 = pattern(34 * 2, 4), q4k = pattern(144, 5), bf16 = pattern(6 * 2, 6), i8 = pattern(5, 7);
    for (uint32_t version : {2u, 3u}) {
      Writer w(version);
      add_every_value_type(w);
      w.write(dir + "/values-v" + std::to_string(version) + ".gguf");
    }
    for (uint32_t align : {1u, 8u, 32u, 64u}) {
      Writer w;
      w.set_alignment(align);
      w.add_kv("general.name", Value{std::string("tensors")});
      w.add_tensor("f32", DType::F32, {8, 4}, f32);
      w.add_tensor("f16", DType::F16, {16}, f16);
      w.add_tensor("q4_0", DType::Q4_0, {64}, q4);
      w.add_tensor("q8_0", DType::Q8_0, {32, 2}, q8);
      w.add_tensor("q4_k", DType::Q4_K, {256}, q4k);
      w.add_tensor("bf16", DType::BF16, {3, 2}, bf16);
      w.add_tensor("i8", DType::I8, {5, 1, 1, 1}, i8);
      w.write(dir + "/tensors-a" + std::to_string(align) + ".gguf");
    }
    {
      Writer w(3);
      add_every_value_type(w);
      w.add_tensor("late", DType::F32, {8}, pattern(32, 8), 96);
      w.add_tensor("early", DType::F32, {8}, pattern(32, 9), 0);
      w.write(dir + "/model-offsets.gguf");
    }
    {
      Writer w(3);
      w.write(dir + "/empty.gguf");
    }
  } catch (const slm::Error& e) {
    std::fprintf(stderr, "gguf_seed: %s\n", e.what());
    return 1;
  }
  return 0;
}
