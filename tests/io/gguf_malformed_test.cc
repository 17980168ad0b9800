// Malformed GGUF files: each case must throw slm::Error naming the problem and where it is,
// never crash or read out of bounds (the suite also runs under the sanitizers and the fuzzer).
#include <gtest/gtest.h>

#include "io/gguf.h"
#include "io/gguf_test_util.h"

namespace slm::gguf {
namespace {

using testing::bytes_of;
using testing::find_bytes;
using testing::poke;
using testing::SmallFile;

constexpr size_t kTensorCountAt = 8, kKvCountAt = 16;

// Offset of the tensor info of `name` (its name-length field) in a file built by the Writer.
size_t tensor_info_at(const std::vector<uint8_t>& b, std::string_view name) {
  const size_t s = find_bytes(b, name);
  EXPECT_NE(s, SIZE_MAX);
  return s - 8;
}

// A file with one tensor of the given declared shape and type over `data`.
std::vector<uint8_t> one_tensor(DType type, std::vector<int64_t> ne, std::span<const uint8_t> data,
                                std::optional<uint64_t> offset = std::nullopt) {
  Writer w;
  w.add_kv("k", Value{uint32_t(1)});
  w.add_tensor("t", type, std::move(ne), data, offset);
  return w.to_bytes();
}

TEST(GgufMalformed, ValidFileParses) { EXPECT_EQ(testing::parse_error(SmallFile{}.build()), ""); }

TEST(GgufMalformed, BadMagic) {
  std::vector<uint8_t> b = SmallFile{}.build();
  b[0] = 'X';
  EXPECT_GGUF_ERROR(b, "offset 0", "bad magic 'XGUF'", "not a GGUF file");
}

TEST(GgufMalformed, VersionOneIsNotSupported) {
  std::vector<uint8_t> b = SmallFile{}.build();
  poke<uint32_t>(b, 4, 1);
  EXPECT_GGUF_ERROR(b, "offset 4", "GGUF version 1 is not supported");
}

TEST(GgufMalformed, UnsupportedVersion) {
  for (uint32_t v : {0u, 4u, 77u}) {
    std::vector<uint8_t> b = SmallFile{}.build();
    poke<uint32_t>(b, 4, v);
    EXPECT_GGUF_ERROR(b, "offset 4", "unsupported GGUF version");
  }
}

TEST(GgufMalformed, BigEndianIsRejectedClearly) {
  std::vector<uint8_t> b = SmallFile{}.build();
  poke<uint32_t>(b, 4, 0x03000000u);
  EXPECT_GGUF_ERROR(b, "big-endian GGUF");
}

TEST(GgufMalformed, TruncatedHeader) {
  const std::vector<uint8_t> full = SmallFile{}.build();
  for (size_t n : {0, 3, 7}) EXPECT_GGUF_ERROR(std::vector<uint8_t>(full.begin(), full.begin() + n), "truncated");
  for (size_t n : {8, 12, 20, 23}) {
    EXPECT_GGUF_ERROR(std::vector<uint8_t>(full.begin(), full.begin() + n), "truncated file", "count needs 8 bytes");
  }
}

TEST(GgufMalformed, TruncatedInsideMetadataAndTensorInfos) {
  const std::vector<uint8_t> full = SmallFile{}.build();
  const File f = File::parse(full);
  // Every cut inside the header is reported as a truncation at some offset.
  for (size_t n = 24; n < f.header_size(); ++n) {
    const std::string msg = testing::parse_error(std::vector<uint8_t>(full.begin(), full.begin() + n));
    EXPECT_NE(msg.find("offset"), std::string::npos) << n << ": " << msg;
    EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("past end") != std::string::npos ||
                msg.find("absurd") != std::string::npos)
        << n << ": " << msg;
  }
}

TEST(GgufMalformed, TruncatedData) {
  const std::vector<uint8_t> full = SmallFile{}.build();
  const File f = File::parse(full);
  // Cut in the middle of the last tensor's data.
  std::vector<uint8_t> b(full.begin(), full.begin() + f.data_offset() + f.tensors()[1].offset + 5);
  EXPECT_GGUF_ERROR(b, "tensor 'b.weight'", "runs past the end of the file");
  // Cut before the data section starts.
  b.assign(full.begin(), full.begin() + f.header_size());
  if (f.header_size() < f.data_offset()) EXPECT_GGUF_ERROR(b, "data section starts at offset", "past the end");
}

TEST(GgufMalformed, EveryPrefixFailsCleanly) {
  const std::vector<uint8_t> full = SmallFile{}.build();
  for (size_t n = 0; n < full.size(); ++n)
    EXPECT_NE(testing::parse_error(std::vector<uint8_t>(full.begin(), full.begin() + n)), "") << n;
}

TEST(GgufMalformed, KeyLengthPastEndOfFile) {
  std::vector<uint8_t> b = SmallFile{}.build();
  poke<uint64_t>(b, 24, uint64_t(9e18));
  EXPECT_GGUF_ERROR(b, "offset 24", "key length 9000000000000000000 past end of file");
}

TEST(GgufMalformed, StringValueLengthPastEndOfFile) {
  std::vector<uint8_t> b = SmallFile{}.build();
  const size_t at = find_bytes(b, "llama") - 8;  // the value of general.architecture
  poke<uint64_t>(b, at, b.size());
  EXPECT_GGUF_ERROR(b, fmt::format("offset {}", at), "string length", "past end of file");
}

TEST(GgufMalformed, TensorNameLengthPastEndOfFile) {
  std::vector<uint8_t> b = SmallFile{}.build();
  const size_t at = tensor_info_at(b, "b.weight");
  poke<uint64_t>(b, at, uint64_t(1) << 40);
  EXPECT_GGUF_ERROR(b, fmt::format("offset {}", at), "tensor name length", "past end of file");
}

TEST(GgufMalformed, ArrayLengthPastEndOfFile) {
  Writer w;
  w.add_kv("tokens", Value{Array{ValueType::u32, {Value{uint32_t(1)}, Value{uint32_t(2)}}}});
  std::vector<uint8_t> b = w.to_bytes();
  const size_t at = find_bytes(b, "tokens") + 6 + 4;  // after the key and its type: the array type
  poke<uint64_t>(b, at + 4, uint64_t(1) << 60);
  EXPECT_GGUF_ERROR(b, fmt::format("offset {}", at), "key 'tokens'", "array length 1152921504606846976",
                    "past end of file");
  poke<uint64_t>(b, at + 4, 3);  // just one element too many
  EXPECT_GGUF_ERROR(b, "key 'tokens'", "past end of file");
}

TEST(GgufMalformed, AbsurdTensorCount) {
  std::vector<uint8_t> b = SmallFile{}.build();
  poke<uint64_t>(b, kTensorCountAt, uint64_t(1) << 62);
  EXPECT_GGUF_ERROR(b, "offset 8", "tensor count 4611686018427387904 is absurd");
}

TEST(GgufMalformed, AbsurdKvCount) {
  std::vector<uint8_t> b = SmallFile{}.build();
  poke<uint64_t>(b, kKvCountAt, ~uint64_t(0));
  EXPECT_GGUF_ERROR(b, "offset 16", "metadata count 18446744073709551615 is absurd");
}

TEST(GgufMalformed, TooManyDims) {
  const auto d = bytes_of(4, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {1, 1, 1, 1, 1}, d), "tensor 't'", "5 dims, expected 1 to 4");
}

TEST(GgufMalformed, ZeroDims) {
  const auto d = bytes_of(4, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {}, d), "tensor 't'", "0 dims, expected 1 to 4");
}

TEST(GgufMalformed, ZeroDimension) {
  const auto d = bytes_of(4, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {4, 0}, d), "tensor 't'", "dimension 1 is zero");
}

TEST(GgufMalformed, NegativeDimension) {
  const auto d = bytes_of(4, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {-3}, d), "tensor 't'", "dimension 0 is negative (-3)");
}

TEST(GgufMalformed, DimensionProductOverflows) {
  const auto d = bytes_of(4, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {int64_t(1) << 32, int64_t(1) << 32}, d), "tensor 't'",
                    "element count overflows");
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {int64_t(1) << 20, 1 << 20, 1 << 20, 1 << 20}, d), "overflows");
  // The element count fits but the byte size does not.
  EXPECT_GGUF_ERROR(one_tensor(DType::F64, {int64_t(1) << 62}, d), "tensor 't'", "byte size overflows");
}

TEST(GgufMalformed, UnknownTensorTypeId) {
  const auto d = bytes_of(4, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType(99), {1}, d), "tensor 't'", "unknown type id 99");
  EXPECT_GGUF_ERROR(one_tensor(DType(4), {1}, d), "unknown type id 4");  // a removed ggml type
}

TEST(GgufMalformed, UnknownValueTypeId) {
  std::vector<uint8_t> b = SmallFile{}.build();
  const size_t at = find_bytes(b, "llama.block_count") + 17;
  poke<uint32_t>(b, at, 13);
  EXPECT_GGUF_ERROR(b, fmt::format("offset {}", at), "key 'llama.block_count'", "unknown value type id 13");
}

TEST(GgufMalformed, UnknownArrayElementTypeId) {
  Writer w;
  w.add_kv("arr", Value{Array{ValueType::u8, {Value{uint8_t(1)}}}});
  std::vector<uint8_t> b = w.to_bytes();
  poke<uint32_t>(b, find_bytes(b, "arr") + 3 + 4, 0xFFFFFFFFu);
  EXPECT_GGUF_ERROR(b, "key 'arr'", "unknown array element type id 4294967295");
}

TEST(GgufMalformed, BoolByteOutOfRange) {
  Writer w;
  w.add_kv("flag", Value{true});
  std::vector<uint8_t> b = w.to_bytes();
  b[find_bytes(b, "flag") + 4 + 4] = 2;
  EXPECT_GGUF_ERROR(b, "key 'flag'", "bool byte is 2");
}

TEST(GgufMalformed, MisalignedTensorData) {
  const auto d = bytes_of(8, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {2}, d, 4), "tensor 't'", "data offset 4 is misaligned (alignment 32)");
}

TEST(GgufMalformed, OverlappingTensorData) {
  const auto d = bytes_of(64, 1);
  Writer w;
  w.add_tensor("first", DType::F32, {16}, d, 0);
  w.add_tensor("second", DType::F32, {16}, d, 32);
  EXPECT_GGUF_ERROR(w.to_bytes(), "tensor 'second' data at offset 32 overlaps tensor 'first'");
}

TEST(GgufMalformed, DataPastEndOfFile) {
  const auto d = bytes_of(8, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::F32, {1000}, d), "tensor 't'", "offset 0 + 4000 bytes runs past the end");
  std::vector<uint8_t> b = one_tensor(DType::F32, {2}, d);
  const size_t info = find_bytes(b, std::string_view("\x01\0\0\0\0\0\0\0t", 9));  // name length 1, "t"
  poke<uint64_t>(b, info + 8 + 1 + 4 + 8 + 4, uint64_t(1) << 62);                        // its data offset
  EXPECT_GGUF_ERROR(b, "tensor 't'", "data at offset 4611686018427387904 + 8 bytes runs past the end");
}

TEST(GgufMalformed, DuplicateTensorNames) {
  const auto d = bytes_of(8, 1);
  Writer w;
  w.add_tensor("dup", DType::F32, {2}, d);
  w.add_tensor("dup", DType::F32, {2}, d);
  std::vector<uint8_t> b = w.to_bytes();
  const size_t second = find_bytes(std::vector<uint8_t>(b.begin() + find_bytes(b, "dup") + 3, b.end()), "dup") +
                        find_bytes(b, "dup") + 3 - 8;
  EXPECT_GGUF_ERROR(b, fmt::format("offset {}", second), "duplicate tensor name 'dup'");
}

TEST(GgufMalformed, DuplicateKeys) {
  Writer w;
  w.add_kv("general.name", Value{std::string("a")});
  w.add_kv("general.name", Value{std::string("b")});
  EXPECT_GGUF_ERROR(w.to_bytes(), "duplicate key 'general.name'");
}

TEST(GgufMalformed, RowLengthNotAMultipleOfTheBlockSize) {
  const auto d = bytes_of(18, 1);
  EXPECT_GGUF_ERROR(one_tensor(DType::Q4_0, {33}, d), "tensor 't'",
                    "row length 33 is not a multiple of the Q4_0 block size 32");
  EXPECT_GGUF_ERROR(one_tensor(DType::Q6_K, {128, 2}, d), "Q6_K block size 256");
}

TEST(GgufMalformed, NestingTooDeep) {
  auto nested = [](int depth) {
    Value v{Array{ValueType::u8, {Value{uint8_t(1)}}}};
    for (int i = 0; i < depth; ++i) v = Value{Array{ValueType::array, {v}}};
    Writer w;
    w.add_kv("deep", v);
    return w.to_bytes();
  };
  EXPECT_EQ(testing::parse_error(nested(8)), "") << "eight levels of nesting are accepted";
  EXPECT_GGUF_ERROR(nested(9), "key 'deep'", "arrays nested too deep");
  EXPECT_GGUF_ERROR(nested(200), "arrays nested too deep");
}

TEST(GgufMalformed, BadAlignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    Writer w;
    w.add_kv("general.alignment", Value{a});
    EXPECT_GGUF_ERROR(w.to_bytes(), "key 'general.alignment'", "is not a non-zero power of two");
  }
  Writer w;
  w.add_kv("general.alignment", Value{uint64_t(64)});
  EXPECT_GGUF_ERROR(w.to_bytes(), "key 'general.alignment'", "expected u32, got u64");
}

// Deterministic corruption of a valid file: every result is a parse or an slm::Error, never a crash
// (under the sanitizers this also proves there is no out-of-bounds read).
TEST(GgufMalformed, ByteCorruptionNeverCrashes) {
  Writer w;
  w.add_kv("general.architecture", Value{std::string("llama")});
  w.add_kv("arr", Value{Array{ValueType::array, {Value{Array{ValueType::string, {Value{std::string("x")}}}}}}});
  const auto d = bytes_of(18 * 2, 1);
  w.add_tensor("q", DType::Q4_0, {64}, d);
  const std::vector<uint8_t> full = w.to_bytes();
  uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  int errors = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> b = full;
    for (int k = 1 + next() % 3; k > 0; --k) b[next() % b.size()] = uint8_t(next() >> 24);
    errors += testing::parse_error(b).empty() ? 0 : 1;
  }
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace slm::gguf
