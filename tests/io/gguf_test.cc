// GGUF reader and writer: every value type, nested arrays, tensors, alignment variants, v2 and v3,
// byte-exact round trips, atomic writes and the typed getters.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/testdata.h"
#include "io/gguf.h"
#include "io/gguf_test_util.h"

namespace slm::gguf {
namespace {

using testing::bytes_of;

Value arr(ValueType t, std::vector<Value> items) { return Value{Array{t, std::move(items)}}; }

// One key per scalar type, one array per element type, nested arrays and edge cases.
std::vector<KeyValue> every_value_type() {
  std::vector<KeyValue> kv = {
      {"u8", Value{uint8_t(200)}},
      {"i8", Value{int8_t(-100)}},
      {"u16", Value{uint16_t(60000)}},
      {"i16", Value{int16_t(-30000)}},
      {"u32", Value{uint32_t(4000000000u)}},
      {"i32", Value{int32_t(-2000000000)}},
      {"f32", Value{3.25f}},
      {"bool.true", Value{true}},
      {"bool.false", Value{false}},
      {"string", Value{std::string("h\xc3\xa9llo")}},
      {"string.empty", Value{std::string()}},
      {"string.nul", Value{std::string("a\0b", 3)}},
      {"u64", Value{uint64_t(1) << 63}},
      {"i64", Value{int64_t(-1) << 62}},
      {"f64", Value{-1.0e300}},
      {"arr.u8", arr(ValueType::u8, {Value{uint8_t(1)}, Value{uint8_t(255)}})},
      {"arr.i8", arr(ValueType::i8, {Value{int8_t(-1)}})},
      {"arr.u16", arr(ValueType::u16, {Value{uint16_t(7)}})},
      {"arr.i16", arr(ValueType::i16, {Value{int16_t(-7)}})},
      {"arr.u32", arr(ValueType::u32, {Value{uint32_t(1)}, Value{uint32_t(2)}, Value{uint32_t(3)}})},
      {"arr.i32", arr(ValueType::i32, {Value{int32_t(-5)}})},
      {"arr.f32", arr(ValueType::f32, {Value{0.5f}, Value{-0.0f}})},
      {"arr.bool", arr(ValueType::boolean, {Value{true}, Value{false}})},
      {"arr.string", arr(ValueType::string, {Value{std::string("x")}, Value{std::string()}})},
      {"arr.u64", arr(ValueType::u64, {Value{uint64_t(9)}})},
      {"arr.i64", arr(ValueType::i64, {Value{int64_t(-9)}})},
      {"arr.f64", arr(ValueType::f64, {Value{2.5}})},
      {"arr.empty", arr(ValueType::u32, {})},
      {"arr.nested",
       arr(ValueType::array, {arr(ValueType::string, {Value{std::string("a")}, Value{std::string("b")}}),
                              arr(ValueType::i32, {Value{int32_t(1)}}), arr(ValueType::f32, {}),
                              arr(ValueType::array, {arr(ValueType::u8, {Value{uint8_t(3)}})})})},
  };
  return kv;
}

class GgufVersionTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufVersionTest, EveryValueTypeRoundTrips) {
  const std::vector<KeyValue> kv = every_value_type();
  Writer w(GetParam());
  for (const KeyValue& x : kv) w.add_kv(x.key, x.value);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const File f = File::parse(bytes);
  EXPECT_EQ(f.version(), GetParam());
  ASSERT_EQ(f.metadata().size(), kv.size());
  for (size_t i = 0; i < kv.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].key, kv[i].key);
    EXPECT_EQ(f.metadata()[i].value.type(), kv[i].value.type()) << kv[i].key;
    EXPECT_TRUE(f.metadata()[i].value == kv[i].value) << kv[i].key;
  }
  EXPECT_EQ(f.get_string("string.nul")->size(), 3u);
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.header_size(), bytes.size()) << "no tensors: the file ends after the header";
  EXPECT_EQ(Writer::from(f).to_bytes(), bytes);
}

TEST_P(GgufVersionTest, TensorsAreZeroCopyViewsAtAlignedOffsets) {
  const auto f32 = bytes_of(4 * 3 * 4, 1), f16 = bytes_of(5 * 2, 2), q4 = bytes_of(2 * 18 * 2, 3),
             q8 = bytes_of(34, 4);
  Writer w(GetParam());
  w.add_kv("general.name", Value{std::string("t")});
  w.add_tensor("f32", DType::F32, {4, 3}, f32);
  w.add_tensor("f16", DType::F16, {5}, f16);
  w.add_tensor("q4", DType::Q4_0, {64, 2}, q4);
  w.add_tensor("q8", DType::Q8_0, {32, 1, 1, 1}, q8);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const File f = File::parse(bytes);
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  const std::vector<std::vector<uint8_t>*> want = {};
  const std::pair<const char*, const std::vector<uint8_t>*> cases[] = {
      {"f32", &f32}, {"f16", &f16}, {"q4", &q4}, {"q8", &q8}};
  for (auto [name, data] : cases) {
    const TensorInfo* t = f.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->offset % 32, 0u) << name;
    const auto view = f.tensor_data(*t);
    EXPECT_EQ(std::vector<uint8_t>(view.begin(), view.end()), *data) << name;
    EXPECT_EQ(view.data(), bytes.data() + f.data_offset() + t->offset) << "zero-copy view";
  }
  EXPECT_EQ(f.find_tensor("q4")->ne, (std::vector<int64_t>{64, 2}));
  EXPECT_EQ(f.find_tensor("q4")->type, DType::Q4_0);
  EXPECT_EQ(f.find_tensor("q4")->n_elements(), 128);
  EXPECT_EQ(f.find_tensor("q8")->ne.size(), 4u);
  EXPECT_EQ(f.find_tensor("missing"), nullptr);
  EXPECT_EQ(bytes.size() % 32, 0u) << "the last tensor is padded to the alignment";
  EXPECT_EQ(Writer::from(f).to_bytes(), bytes);
}

INSTANTIATE_TEST_SUITE_P(V2AndV3, GgufVersionTest, ::testing::Values(2u, 3u));

class GgufAlignmentTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufAlignmentTest, OffsetsFollowTheAlignment) {
  const uint32_t a = GetParam();
  const auto d0 = bytes_of(3 * 4, 1), d1 = bytes_of(5 * 4, 2);
  Writer w;
  w.set_alignment(a);
  w.add_tensor("t0", DType::F32, {3}, d0);
  w.add_tensor("t1", DType::F32, {5}, d1);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const File f = File::parse(bytes);
  EXPECT_EQ(f.alignment(), a);
  EXPECT_EQ(f.data_offset() % a, 0u);
  for (const TensorInfo& t : f.tensors()) EXPECT_EQ(t.offset % a, 0u) << t.name;
  if (a == 32) {
    EXPECT_EQ(f.find("general.alignment"), nullptr) << "the default is not written";
  } else {
    EXPECT_EQ(f.get_uint("general.alignment"), a);
  }
  EXPECT_EQ(Writer::from(f).to_bytes(), bytes);
}

INSTANTIATE_TEST_SUITE_P(Variants, GgufAlignmentTest, ::testing::Values(1u, 2u, 8u, 32u, 64u, 4096u));

TEST(Gguf, AlignmentFromMetadataSetsTheLayout) {
  const auto d = bytes_of(4, 1);
  Writer w;
  w.add_kv("general.alignment", Value{uint32_t(256)});
  w.add_tensor("t0", DType::F32, {1}, d);
  w.add_tensor("t1", DType::F32, {1}, d);
  const File f = File::parse(w.to_bytes());
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.tensors()[1].offset, 256u);
}

TEST(Gguf, ExplicitOffsetsGapsAndForeignPaddingRoundTripByteForByte) {
  const auto d0 = bytes_of(8, 1), d1 = bytes_of(8, 2);
  Writer w;
  w.add_tensor("late", DType::F32, {2}, d0, 128);  // infos out of offset order, with a gap
  w.add_tensor("early", DType::F32, {2}, d1, 0);
  std::vector<uint8_t> bytes = w.to_bytes();
  File f = File::parse(bytes);
  EXPECT_EQ(f.find_tensor("late")->offset, 128u);
  // Non-zero padding and trailing bytes, as another writer might leave them, are kept verbatim.
  const size_t pad_at = f.header_size();
  if (pad_at < f.data_offset()) bytes[pad_at] = 0xAB;
  bytes[f.data_offset() + 64] = 0xCD;
  bytes.insert(bytes.end(), {1, 2, 3});
  f = File::parse(bytes);
  EXPECT_EQ(Writer::from(f).to_bytes(), bytes);
}

TEST(Gguf, EditedFileIsRewrittenCanonically) {
  const std::vector<uint8_t> bytes = testing::SmallFile{}.build();
  const File f = File::parse(bytes);
  Writer w = Writer::from(f);
  w.set_kv("general.architecture", Value{std::string("a much longer architecture name")});
  w.add_kv("general.new", Value{uint32_t(1)});
  const std::vector<uint8_t> out = w.to_bytes();
  const File g = File::parse(out);
  EXPECT_EQ(g.get_string("general.architecture"), "a much longer architecture name");
  EXPECT_EQ(g.get_uint("general.new"), 1u);
  ASSERT_EQ(g.tensors().size(), 2u);
  for (const TensorInfo& t : f.tensors()) {
    const auto a = f.tensor_data(t), b = g.tensor_data(*g.find_tensor(t.name));
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << t.name;
  }
}

TEST(Gguf, WriteIsAtomicAndOpenMapsTheFile) {
  slm::testing::TempDir dir;
  const std::string path = dir.file("m.gguf");
  {
    std::ofstream old(path);
    old << "previous contents";
  }
  testing::SmallFile src;
  Writer w;
  w.add_kv("k", Value{std::string("v")});
  w.add_tensor("a", DType::F32, {8}, src.w1);
  w.write(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const File f = File::open(path);
  EXPECT_EQ(f.get_string("k"), "v");
  const auto view = f.tensor_data(f.tensors()[0]);
  EXPECT_EQ(std::vector<uint8_t>(view.begin(), view.end()), src.w1);
  EXPECT_EQ(f.bytes().size(), std::filesystem::file_size(path));
}

TEST(Gguf, OpenMissingFileNamesThePath) {
  try {
    File::open("/nonexistent/x.gguf");
    FAIL() << "no error";
  } catch (const slm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.gguf"), std::string::npos) << e.what();
  }
}

TEST(Gguf, TypedGetters) {
  Writer w;
  for (const KeyValue& x : every_value_type()) w.add_kv(x.key, x.value);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const File f = File::parse(bytes);
  EXPECT_EQ(f.get_uint("u8"), 200u);
  EXPECT_EQ(f.get_uint("u64"), uint64_t(1) << 63);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_int("u32"), 4000000000);
  EXPECT_EQ(f.get_float("f32"), 3.25);
  EXPECT_EQ(f.get_float("f64"), -1.0e300);
  EXPECT_EQ(f.get_bool("bool.true"), true);
  EXPECT_EQ(f.get_string("string"), "h\xc3\xa9llo");
  EXPECT_EQ(f.get_array("arr.u32")->items.size(), 3u);
  EXPECT_EQ(f.get_string("absent"), std::nullopt);
  EXPECT_EQ(f.get_array("absent"), nullptr);
  EXPECT_THROW(f.get_uint("i8"), slm::Error);  // negative
  EXPECT_THROW(f.get_int("u64"), slm::Error);  // 2^63 does not fit
  EXPECT_THROW(f.get_float("u32"), slm::Error);
  EXPECT_THROW(f.get_array("string"), slm::Error);
  try {
    f.get_uint("string");
    FAIL() << "no error";
  } catch (const slm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("key 'string': expected an unsigned integer, got string"),
              std::string::npos)
        << e.what();
  }
}

TEST(Gguf, LargeVocabularyArray) {
  std::vector<Value> tokens;
  tokens.reserve(150000);
  for (int i = 0; i < 150000; ++i) tokens.push_back(Value{"tok" + std::to_string(i)});
  Writer w;
  w.add_kv("tokenizer.ggml.tokens", arr(ValueType::string, std::move(tokens)));
  const std::vector<uint8_t> bytes = w.to_bytes();
  const File f = File::parse(bytes);
  const Array* a = f.get_array("tokenizer.ggml.tokens");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 150000u);
  EXPECT_EQ(std::get<std::string>(a->items[149999].data), "tok149999");
}

TEST(Gguf, WriterRejectsMixedArrays) {
  Writer w;
  w.add_kv("bad", arr(ValueType::u32, {Value{uint32_t(1)}, Value{std::string("x")}}));
  EXPECT_THROW(w.to_bytes(), slm::Error);
}

TEST(Gguf, FloatBitsArePreserved) {
  const float nan_payload = std::bit_cast<float>(0x7fc01234u);
  Writer w;
  w.add_kv("nan", Value{nan_payload});
  const File f = File::parse(w.to_bytes());
  EXPECT_EQ(std::bit_cast<uint32_t>(std::get<float>(f.find("nan")->data)), 0x7fc01234u);
}

}  // namespace
}  // namespace slm::gguf
