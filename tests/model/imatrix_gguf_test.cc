// The GGUF imatrix format: round trips, the layout llama.cpp reads (general.type, in_sum2 / counts tensors),
// conversion from the legacy format, and malformed files.
#include <gtest/gtest.h>

#include <cstring>

#include "common/testdata.h"
#include "core/error.h"
#include "io/gguf.h"
#include "model/imatrix.h"

namespace slm::model {
namespace {

std::vector<float> f32s(const gguf::File& f, const std::string& name) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (t == nullptr) return {};
  const auto b = f.tensor_data(*t);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

Imatrix sample() {
  Imatrix m;
  m.entries["blk.0.attn_q.weight"] = {.values = {0.5f, 2.0f, 0.0f}, .ncall = 2, .count = 64};
  m.entries["blk.1.ffn_down.weight"] = {.values = {0.25f}, .ncall = 2, .count = 64};
  m.chunks = 2, m.chunk_size = 32, m.dataset = "calib.txt";
  return m;
}

TEST(ImatrixGguf, RoundTrips) {
  testing::TempDir tmp;
  const Imatrix m = sample();
  imatrix_write_gguf(m, tmp.file("m.gguf"));
  const Imatrix r = imatrix_read(tmp.file("m.gguf"));  // told apart from .dat by the magic
  ASSERT_EQ(r.entries.size(), 2u);
  for (const auto& [name, e] : m.entries) {
    ASSERT_TRUE(r.entries.contains(name)) << name;
    EXPECT_EQ(r.entries.at(name).values, e.values) << name;
    EXPECT_EQ(r.entries.at(name).count, 64) << name;
    EXPECT_EQ(r.entries.at(name).ncall, 2) << name;  // count / chunk_size
  }
  EXPECT_EQ(r.chunks, 2);
  EXPECT_EQ(r.chunk_size, 32);
  EXPECT_EQ(r.dataset, "calib.txt");
}

TEST(ImatrixGguf, LayoutIsLlamaCpps) {
  testing::TempDir tmp;
  imatrix_write_gguf(sample(), tmp.file("m.gguf"));
  const gguf::File f = gguf::File::open(tmp.file("m.gguf"));
  EXPECT_EQ(f.get_string("general.type"), "imatrix");
  EXPECT_EQ(f.get_uint("imatrix.chunk_count"), 2u);
  EXPECT_EQ(f.get_uint("imatrix.chunk_size"), 32u);
  ASSERT_NE(f.get_array("imatrix.datasets"), nullptr);
  EXPECT_EQ(f.get_array("imatrix.datasets")->items.size(), 1u);
  const gguf::TensorInfo* s = f.find_tensor("blk.0.attn_q.weight.in_sum2");
  const gguf::TensorInfo* c = f.find_tensor("blk.0.attn_q.weight.counts");
  ASSERT_NE(s, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(s->type, DType::F32);
  EXPECT_EQ(s->ne, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(c->ne, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(f32s(f, "blk.0.attn_q.weight.in_sum2"), (std::vector<float>{32.0f, 128.0f, 0.0f}));  // mean * rows
  EXPECT_EQ(f32s(f, "blk.0.attn_q.weight.counts"), std::vector<float>{64.0f});
  EXPECT_EQ(f.tensors().size(), 4u);
}

TEST(ImatrixGguf, ReadsAFileBuiltFromTheFormatFacts) {
  // Built with the plain GGUF writer: sums and a row count, two datasets, no chunk size.
  testing::TempDir tmp;
  gguf::Writer w;
  w.add_kv("general.type", {std::string("imatrix")});
  w.add_kv("imatrix.datasets", {gguf::Array{.elem_type = gguf::ValueType::string, .items = {{std::string("a.txt")}, {std::string("b.txt")}}}});
  w.add_kv("imatrix.chunk_count", {uint32_t(7)});
  const std::vector<float> sums = {4.0f, 8.0f, 1.0f, 0.0f}, counts = {4.0f};
  auto bytes = [](const std::vector<float>& v) { return std::span(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4); };
  w.add_tensor("blk.0.ffn_up.weight.in_sum2", DType::F32, {4, 1}, bytes(sums));
  w.add_tensor("blk.0.ffn_up.weight.counts", DType::F32, {1, 1}, bytes(counts));
  w.write(tmp.file("x.gguf"));
  const Imatrix r = imatrix_read(tmp.file("x.gguf"));
  ASSERT_NE(r.find("blk.0.ffn_up.weight"), nullptr);
  EXPECT_EQ(*r.find("blk.0.ffn_up.weight"), (std::vector<float>{1.0f, 2.0f, 0.25f, 0.0f}));
  EXPECT_EQ(r.chunks, 7);
  EXPECT_EQ(r.dataset, "a.txt,b.txt");
}

TEST(ImatrixGguf, LegacyConvertsWithAssumedChunkSize) {
  testing::TempDir tmp;
  Imatrix legacy;
  legacy.entries["blk.0.attn_k.weight"] = {.values = {1.5f, 3.0f}, .ncall = 3};
  legacy.chunks = 3;
  imatrix_write(legacy, tmp.file("l.dat"));
  imatrix_write_gguf(imatrix_read(tmp.file("l.dat")), tmp.file("l.gguf"));
  const gguf::File f = gguf::File::open(tmp.file("l.gguf"));
  EXPECT_EQ(f32s(f, "blk.0.attn_k.weight.counts"), std::vector<float>{3.0f * 512});  // ncall x 512
  const Imatrix r = imatrix_read(tmp.file("l.gguf"));
  EXPECT_EQ(*r.find("blk.0.attn_k.weight"), (std::vector<float>{1.5f, 3.0f}));
  EXPECT_EQ(r.entries.at("blk.0.attn_k.weight").ncall, 3);
}

TEST(ImatrixGguf, MalformedFilesThrow) {
  testing::TempDir tmp;
  const std::vector<float> two = {1.0f, 2.0f}, one = {1.0f}, four = {1, 2, 3, 4};
  auto bytes = [](const std::vector<float>& v) { return std::span(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4); };
  auto write = [&](const std::string& type, auto add) {
    gguf::Writer w;
    w.add_kv("general.type", {type});
    add(w);
    const std::string p = tmp.file("bad.gguf");
    w.write(p);
    return p;
  };
  // A model, not an imatrix.
  EXPECT_THROW(imatrix_read(write("model", [&](gguf::Writer&) {})), Error);
  // Sums without counts.
  EXPECT_THROW(imatrix_read(write("imatrix", [&](gguf::Writer& w) {
                 w.add_tensor("a.weight.in_sum2", DType::F32, {2, 1}, bytes(two));
               })),
               Error);
  // Several experts per tensor.
  EXPECT_THROW(imatrix_read(write("imatrix", [&](gguf::Writer& w) {
                 w.add_tensor("a.weight.in_sum2", DType::F32, {2, 2}, bytes(four));
                 w.add_tensor("a.weight.counts", DType::F32, {1, 2}, bytes(two));
               })),
               Error);
  // A tensor that is neither sums nor counts.
  EXPECT_THROW(imatrix_read(write("imatrix", [&](gguf::Writer& w) {
                 w.add_tensor("token_embd.weight", DType::F32, {2, 1}, bytes(two));
               })),
               Error);
  // A negative count.
  const std::vector<float> neg = {-1.0f};
  EXPECT_THROW(imatrix_read(write("imatrix", [&](gguf::Writer& w) {
                 w.add_tensor("a.weight.in_sum2", DType::F32, {2, 1}, bytes(two));
                 w.add_tensor("a.weight.counts", DType::F32, {1, 1}, bytes(neg));
               })),
               Error);
  EXPECT_NO_THROW(imatrix_read(write("imatrix", [&](gguf::Writer& w) {
    w.add_tensor("a.weight.in_sum2", DType::F32, {2, 1}, bytes(two));
    w.add_tensor("a.weight.counts", DType::F32, {1, 1}, bytes(one));
  })));
}

}  // namespace
}  // namespace slm::model
