// Every integer and float hyper-parameter of a tiny model set to awkward values (0, 1, odd, huge):
// loading either fails with slm::Error or gives a model whose forward pass runs.
#include <gtest/gtest.h>

#include "common/testdata.h"
#include "core/error.h"
#include "model/model.h"
#include "model/tiny_model.h"

namespace slm::model {
namespace {

TEST(ModelMetadata, AwkwardValuesFailCleanly) {
  const std::vector<std::string> keys = {
      "context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
      "attention.head_count_kv", "attention.key_length", "attention.value_length", "attention.sliding_window"};
  const uint32_t values[] = {0, 1, 3, 7, 1u << 20, 0x7fffffffu, 0xffffffffu};
  slm::testing::TempDir dir;
  int loaded = 0, refused = 0;
  for (const char* arch : {"llama", "phi3", "gemma2"}) {
    for (const std::string& key : keys) {
      for (uint32_t v : values) {
        const std::string full = std::string(arch) + "." + key;
        testing::TinySpec spec{.arch = arch, .ctx = 16};
        spec.edit = [&](gguf::Writer& w) { w.set_kv(full, gguf::Value{v}); };
        const std::string path = dir.file("m.gguf");
        testing::write_tiny_model(spec, path);
        try {
          const Model m = Model::load(path);
          KvCache kv = m.make_cache({.n_ctx = std::min(m.n_ctx(), 8)});
          const std::vector<int32_t> toks = {1, 2, 3};
          if (kv.n_ctx() >= 3) EXPECT_EQ(m.prefill(toks, kv).size(), size_t(m.n_vocab())) << full << "=" << v;
          ++loaded;
        } catch (const Error& e) {
          EXPECT_EQ(std::string(e.what()).substr(0, 1), "[") << e.what();
          ++refused;
        }
      }
    }
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace slm::model
