// safetensors: writer/reader round trip, sharded checkpoints, and a clear slm::Error for each kind of
// malformed file.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "common/testdata.h"
#include "core/error.h"
#include "core/f16.h"
#include "io/safetensors.h"

namespace slm::safetensors {
namespace {

using slm::testing::TempDir;

std::span<const uint8_t> as_bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4};
}

// A file from a header text and `data_bytes` zero bytes of data.
std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> b(8);
  const uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  b.insert(b.end(), header.begin(), header.end());
  b.resize(b.size() + data_bytes, 0);
  return b;
}

// Parsing `bytes` throws slm::Error whose message contains `needle`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    (void)File::parse(bytes, "bad.safetensors");
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_TRUE(msg.starts_with("[safetensors] bad.safetensors")) << msg;
  }
}

TEST(Safetensors, WriteThenReadKeepsEverything) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint16_t> h = {f32_to_f16(0.5f).bits, f32_to_f16(-2.0f).bits};
  std::vector<uint16_t> bf = {f32_to_bf16(3.0f).bits};
  Writer w;
  w.add_tensor("model.a", DType::F32, {2, 3}, as_bytes(a));
  w.add_tensor("b", DType::F16, {2}, {reinterpret_cast<const uint8_t*>(h.data()), 4});
  w.add_tensor("c.scalar", DType::BF16, {}, {reinterpret_cast<const uint8_t*>(bf.data()), 2});
  w.set_metadata("format", "pt");
  const std::vector<uint8_t> bytes = w.to_bytes();
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "header is padded to 8 bytes";

  const File f = File::parse(bytes);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "model.a");  // data order, not JSON key order
  EXPECT_EQ(f.tensors()[1].name, "b");
  const TensorInfo* t = f.find("model.a");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, DType::F32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->n_elements(), 6);
  std::vector<float> back(6);
  std::memcpy(back.data(), f.tensor_data(*t).data(), 24);
  EXPECT_EQ(back, a);
  EXPECT_EQ(f.find("c.scalar")->n_elements(), 1);
  EXPECT_EQ(f.find("b")->type, DType::F16);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.find("missing"), nullptr);

  TempDir tmp;
  w.write(tmp.file("m.safetensors"));
  const File g = File::open(tmp.file("m.safetensors"));
  EXPECT_EQ(g.tensors().size(), 3u);
  EXPECT_EQ(g.find("b")->shape, (std::vector<int64_t>{2}));
}

TEST(Safetensors, WriterRejectsBadInput) {
  const std::vector<float> a = {1, 2, 3};
  Writer w;
  EXPECT_THROW(w.add_tensor("x", DType::F32, {2, 2}, as_bytes(a)), Error);  // 12 bytes for 16
  EXPECT_THROW(w.add_tensor("x", DType::Q8_0, {3}, as_bytes(a)), Error);    // not storable
  w.add_tensor("x", DType::F32, {3}, as_bytes(a));
  EXPECT_THROW(w.add_tensor("x", DType::F32, {3}, as_bytes(a)), Error);  // duplicate
}

TEST(SafetensorsMalformed, TooShortForHeaderLength) { expect_error({1, 2, 3}, "too short"); }

TEST(SafetensorsMalformed, HeaderLengthPastEndOfFile) {
  std::vector<uint8_t> b = make_file("{}", 0);
  const uint64_t huge = 1000;
  std::memcpy(b.data(), &huge, 8);
  expect_error(b, "header length 1000 runs past the end of the file");
  const uint64_t absurd = ~uint64_t(0);
  std::memcpy(b.data(), &absurd, 8);
  expect_error(b, "runs past the end");
}

TEST(SafetensorsMalformed, BadJson) {
  expect_error(make_file("{\"a\": {\"dtype\": ", 0), "not valid JSON");
  expect_error(make_file("[1, 2]", 0), "not an object");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  expect_error(make_file(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8), "dtype 'I64' is not supported");
  expect_error(make_file(R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1), "F8_E4M3");
  expect_error(make_file(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", 4), "missing string 'dtype'");
}

TEST(SafetensorsMalformed, ShapeByteCountMismatch) {
  expect_error(make_file(R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20),
               "shape [2,3] of F32 needs 24 bytes but data_offsets [0, 20] hold 20");
  expect_error(make_file(R"({"x":{"dtype":"F16","shape":[-1],"data_offsets":[0,2]}})", 2), "out of range");
  expect_error(make_file(R"({"x":{"dtype":"F16","shape":[1.5],"data_offsets":[0,2]}})", 2), "non-integer");
  expect_error(make_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4), "overflows");
}

TEST(SafetensorsMalformed, OffsetsOutOfRange) {
  expect_error(make_file(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "run past the data section");
  expect_error(make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8), "reversed");
  expect_error(make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 8), "two non-negative integers");
  expect_error(make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 8), "two non-negative integers");
}

TEST(SafetensorsMalformed, OverlappingOrGappedOffsets) {
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         12),
               "overlaps tensor");
  expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "gap of 4 bytes");
}

TEST(SafetensorsMalformed, BadMetadata) {
  expect_error(make_file(R"({"__metadata__":{"format":1}})", 0), "'format' is not a string");
  expect_error(make_file(R"({"x":[1,2]})", 0), "not a JSON object");
}

// Two shards and the index that maps each tensor to its shard.
class ShardedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    Writer a, b;
    a.add_tensor("model.embed_tokens.weight", DType::F32, {2, 2}, as_bytes(x_));
    b.add_tensor("model.norm.weight", DType::F32, {4}, as_bytes(x_));
    b.add_tensor("lm_head.weight", DType::F32, {4}, as_bytes(x_));
    a.write(tmp_.file("model-00001-of-00002.safetensors"));
    b.write(tmp_.file("model-00002-of-00002.safetensors"));
  }
  void write_index(const std::string& text) { std::ofstream(tmp_.file("model.safetensors.index.json")) << text; }
  std::vector<float> x_ = {1, 2, 3, 4};
  TempDir tmp_;
};

TEST_F(ShardedCheckpoint, OpensEveryShardThroughTheIndex) {
  write_index(R"({"metadata":{"total_size":48},"weight_map":{"model.embed_tokens.weight":"model-00001-of-00002.safetensors",
    "model.norm.weight":"model-00002-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}})");
  const Checkpoint c = Checkpoint::open(tmp_.path().string());
  EXPECT_EQ(c.n_shards(), 2u);
  ASSERT_EQ(c.tensors().size(), 3u);
  const auto* e = c.find("model.norm.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(c.tensor_data(*e).size(), 16u);
  EXPECT_EQ(c.find("nope"), nullptr);
}

TEST_F(ShardedCheckpoint, IndexMismatchesAreErrors) {
  write_index(R"({"weight_map":{"model.embed_tokens.weight":"model-00002-of-00002.safetensors",
    "model.norm.weight":"model-00002-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}})");
  EXPECT_THROW(Checkpoint::open(tmp_.path().string()), Error);  // embed listed in the wrong shard
  write_index(R"({"weight_map":{"model.norm.weight":"model-00002-of-00002.safetensors","extra":"model-00002-of-00002.safetensors",
    "lm_head.weight":"model-00002-of-00002.safetensors"}})");
  EXPECT_THROW(Checkpoint::open(tmp_.path().string()), Error);  // listed tensor missing
  write_index(R"({"weight_map":{"x":"../etc/passwd"}})");
  EXPECT_THROW(Checkpoint::open(tmp_.path().string()), Error);
  write_index("not json");
  EXPECT_THROW(Checkpoint::open(tmp_.path().string()), Error);
}

TEST(SafetensorsCheckpoint, MissingFolderContentIsAnError) {
  TempDir tmp;
  EXPECT_THROW(Checkpoint::open(tmp.path().string()), Error);
  EXPECT_THROW(File::open(tmp.file("absent.safetensors")), Error);
}

}  // namespace
}  // namespace slm::safetensors
