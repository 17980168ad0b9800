// The imatrix of stories260K checked against an independent computation: the input of layer 0's q/k/v
// projections is rmsnorm(token embedding) * attn_norm, which depends on the token alone, so its mean
// squared value per column can be computed straight from the file's tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/testdata.h"
#include "io/gguf.h"
#include "model/imatrix.h"
#include "model/model.h"

namespace slm::model {
namespace {

std::vector<float> f32_tensor(const gguf::File& f, const std::string& name) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr || t->type != DType::F32) return {};
  const auto b = f.tensor_data(*t);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

TEST(ImatrixRef, Stories260kLayer0MatchesTheEmbeddings) {
  SLM_REQUIRE_TESTDATA(path, "models/stories260K/stories260K.gguf");
  const Model m = Model::load(path.string());
  const gguf::File& f = *m.gguf();
  const int dim = m.config().dim;
  const double eps = m.config().norm_eps;
  const std::vector<float> emb = f32_tensor(f, "token_embd.weight"), norm = f32_tensor(f, "blk.0.attn_norm.weight");
  ASSERT_EQ(norm.size(), size_t(dim));
  std::vector<int32_t> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back(1 + (i * 37 + 11) % 511);
  const Imatrix im = imatrix_collect(m, tokens, {.n_ctx = 40});
  EXPECT_EQ(im.chunks, 2);  // whole chunks only: the last 20 tokens are left out
  const std::span<const int32_t> seen(tokens.data(), 80);
  // Independent: mean over tokens of (x / rms(x) * g)^2, in double.
  std::vector<double> want(size_t(dim), 0.0);
  for (int32_t t : seen) {
    const float* x = emb.data() + size_t(t) * size_t(dim);
    double ss = 0;
    for (int j = 0; j < dim; ++j) ss += double(x[j]) * x[j];
    const double inv = 1.0 / std::sqrt(ss / dim + eps);
    for (int j = 0; j < dim; ++j) {
      const double y = x[j] * inv * norm[size_t(j)];
      want[size_t(j)] += y * y / double(seen.size());
    }
  }
  for (const char* name : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
    const std::vector<float>* got = im.find(name);
    ASSERT_NE(got, nullptr) << name;
    ASSERT_EQ(got->size(), size_t(dim)) << name;
    for (int j = 0; j < dim; ++j) EXPECT_NEAR((*got)[size_t(j)], want[size_t(j)], 1e-5 * want[size_t(j)] + 1e-9) << name << " column " << j;
    EXPECT_EQ(im.entries.at(name).count, 80) << name;  // every token is a row
    EXPECT_EQ(im.entries.at(name).ncall, 2) << name;
  }
  // Every projection of every layer, and no embedding or output matrix.
  EXPECT_EQ(im.entries.size(), size_t(7 * m.config().n_layer));
  EXPECT_EQ(im.find("token_embd.weight"), nullptr);
  EXPECT_EQ(im.find("output.weight"), nullptr);
}

}  // namespace
}  // namespace slm::model
