// Importance matrices: the imatrix.dat format, collection through the matmul observer, and quant-report.
#include "model/imatrix.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "common/testdata.h"
#include "core/error.h"
#include "io/gguf.h"
#include "model/quant_report.h"
#include "model/quantize_model.h"
#include "model/tiny_model.h"

namespace slm::model {
namespace {

TEST(Imatrix, LegacyFormatRoundTrips) {
  testing::TempDir tmp;
  Imatrix m;
  m.entries["blk.0.attn_q.weight"] = {.values = {0.5f, 2.0f, 0.0f}, .ncall = 4};
  m.entries["blk.0.ffn_down.weight"] = {.values = {1.0f}, .ncall = 1};
  m.chunks = 4, m.dataset = "calib.txt";
  imatrix_write(m, tmp.file("m.dat"));
  const Imatrix r = imatrix_read(tmp.file("m.dat"));
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries.at("blk.0.attn_q.weight").values, m.entries.at("blk.0.attn_q.weight").values);
  EXPECT_EQ(r.entries.at("blk.0.attn_q.weight").ncall, 4);
  EXPECT_EQ(r.chunks, 4);
  EXPECT_EQ(r.dataset, "calib.txt");
  // The file stores mean * ncall (as llama.cpp does): 4 + 4 + 8 header bytes, 19 name bytes, then 0.5 * 4.
  std::ifstream f(tmp.file("m.dat"), std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  float v0;
  std::memcpy(&v0, b.data() + 4 + 4 + 19 + 4 + 4, 4);
  EXPECT_EQ(v0, 2.0f);
}

TEST(Imatrix, MalformedFilesThrow) {
  const std::vector<uint8_t> trunc = {1, 0, 0, 0, 5, 0, 0, 0, 'a', 'b'};
  EXPECT_THROW(imatrix_parse(trunc), Error);
  const std::vector<uint8_t> neg = {0xff, 0xff, 0xff, 0xff};
  EXPECT_THROW(imatrix_parse(neg), Error);
  const std::vector<uint8_t> empty_no_tail = {0, 0, 0, 0};
  EXPECT_TRUE(imatrix_parse(empty_no_tail).entries.empty());
  testing::TempDir tmp;
  std::ofstream(tmp.file("g.gguf"), std::ios::binary) << "GGUF\3\0\0\0";
  EXPECT_THROW(imatrix_read(tmp.file("g.gguf")), Error);
}

std::vector<int32_t> some_tokens(int n, int vocab) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 7 + 3) % vocab);
  return t;
}

TEST(Imatrix, CollectsEveryProjectionsInput) {
  testing::TempDir tmp;
  testing::write_tiny_model({.arch = "llama"}, tmp.file("m.gguf"));
  const Model m = Model::load(tmp.file("m.gguf"));
  const Imatrix im = imatrix_collect(m, some_tokens(40, 97), {.n_ctx = 16});
  EXPECT_EQ(im.chunks, 2);
  for (int l = 0; l < 2; ++l)
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}) {
      const std::string name = "blk." + std::to_string(l) + "." + n + ".weight";
      const std::vector<float>* v = im.find(name);
      ASSERT_NE(v, nullptr) << name;
      EXPECT_EQ(v->size(), std::string(n) == "ffn_down" ? 96u : 64u) << name;
      EXPECT_EQ(im.entries.at(name).ncall, 2) << name;
      for (float x : *v) EXPECT_GE(x, 0.0f);
    }
  EXPECT_EQ(*im.find("blk.0.attn_q.weight"), *im.find("blk.0.attn_v.weight"));  // same input
  EXPECT_EQ(im.find("output.weight"), nullptr);
}

TEST(Imatrix, FusedTensorsAreCollectedOnce) {
  testing::TempDir tmp;
  testing::write_tiny_model({.arch = "phi3", .tied = false}, tmp.file("m.gguf"));
  const Model m = Model::load(tmp.file("m.gguf"));
  const Imatrix im = imatrix_collect(m, some_tokens(16, 97), {.n_ctx = 16});
  ASSERT_NE(im.find("blk.0.attn_qkv.weight"), nullptr);
  EXPECT_EQ(im.find("blk.0.attn_q.weight"), nullptr);
  EXPECT_NE(im.find("blk.1.ffn_up.weight"), nullptr);
}

TEST(QuantReport, IdenticalModelsAgreeAndQuantisedOnesDiverge) {
  testing::TempDir tmp;
  testing::write_tiny_model({.arch = "llama"}, tmp.file("m.gguf"));
  const Model base = Model::load(tmp.file("m.gguf"));
  const auto tokens = some_tokens(48, 97);
  const QuantReport same = quant_report(base, base, tokens, {.n_ctx = 24});
  EXPECT_EQ(same.n_positions, 46);
  EXPECT_NEAR(same.kld_mean, 0.0, 1e-12);
  EXPECT_EQ(same.top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(same.ppl_base, same.ppl_quant);
  quantize_model(*base.gguf(), tmp.file("q.gguf"), {.file_type = "Q4_0"});
  const Model q = Model::load(tmp.file("q.gguf"));
  const QuantReport r = quant_report(base, q, tokens, {.n_ctx = 24});
  EXPECT_GT(r.kld_mean, 0.0);
  EXPECT_GE(r.kld_max, r.kld_p99);
  EXPECT_GE(r.kld_p99, r.kld_median);
  EXPECT_NE(r.ppl_quant, r.ppl_base);
  EXPECT_THROW(quant_report(base, q, std::vector<int32_t>{1}), Error);
}

}  // namespace
}  // namespace slm::model
