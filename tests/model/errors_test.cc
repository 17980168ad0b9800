// Bad input gives a clear slm::Error and no crash: unknown architectures, missing or ill-shaped
// tensors, missing or inconsistent metadata, bad token/sequence ids, running past the context.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "common/testdata.h"
#include "core/error.h"
#include "model/model.h"
#include "model/tiny_model.h"

namespace slm::model {
namespace {

using ::testing::HasSubstr;
using testing::TinySpec;

// Loads the tiny model written from `spec` and returns the error message ("" when it loads).
std::string load_error(const TinySpec& spec) {
  slm::testing::TempDir dir;
  const std::string path = dir.file("m.gguf");
  testing::write_tiny_model(spec, path);
  try {
    Model::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelLoadErrors, UnknownArchitecture) {
  EXPECT_THAT(load_error({.arch = "mamba"}), HasSubstr("architecture 'mamba' is not supported"));
}

TEST(ModelLoadErrors, MissingArchitectureKey) {
  EXPECT_THAT(load_error({.drop_keys = {"general.architecture"}}), HasSubstr("general.architecture"));
}

TEST(ModelLoadErrors, MissingTensor) {
  EXPECT_THAT(load_error({.drop_tensors = {"blk.1.ffn_down.weight"}}),
              HasSubstr("tensor 'blk.1.ffn_down.weight' missing"));
  EXPECT_THAT(load_error({.arch = "qwen2", .drop_tensors = {"blk.0.attn_k.bias"}}),
              HasSubstr("tensor 'blk.0.attn_k.bias' missing"));
  EXPECT_THAT(load_error({.arch = "qwen3", .drop_tensors = {"blk.0.attn_q_norm.weight"}}),
              HasSubstr("attn_q_norm.weight"));
  EXPECT_THAT(load_error({.drop_tensors = {"token_embd.weight"}}), HasSubstr("token_embd.weight"));
}

TEST(ModelLoadErrors, ShapeMismatch) {
  // Metadata says ffn 128 while the tensors were written for 96.
  const std::string e = load_error({.edit = [](gguf::Writer& w) {
    w.set_kv("llama.feed_forward_length", gguf::Value{uint32_t(128)});
  }});
  EXPECT_THAT(e, HasSubstr("expected shape"));
  EXPECT_THAT(e, HasSubstr("ffn_gate.weight"));
  EXPECT_THAT(load_error({.edit = [](gguf::Writer& w) {
                w.set_kv("llama.vocab_size", gguf::Value{uint32_t(50)});
              }}),
              HasSubstr("vocab_size = 50"));
}

TEST(ModelLoadErrors, MissingOrInconsistentMetadata) {
  EXPECT_THAT(load_error({.drop_keys = {"llama.block_count"}}), HasSubstr("'llama.block_count' missing"));
  EXPECT_THAT(load_error({.drop_keys = {"llama.embedding_length"}}), HasSubstr("llama.embedding_length"));
  EXPECT_THAT(load_error({.n_head = 4, .n_head_kv = 3}), HasSubstr("not a multiple of head_count_kv"));
  EXPECT_THAT(load_error({.edit = [](gguf::Writer& w) {
                w.set_kv("llama.attention.layer_norm_rms_epsilon", gguf::Value{-1.0f});
              }}),
              HasSubstr("layer_norm_rms_epsilon"));
  EXPECT_THAT(load_error({.edit = [](gguf::Writer& w) {
                w.set_kv("llama.block_count", gguf::Value{std::string("two")});
              }}),
              HasSubstr("block_count"));
}

TEST(ModelLoadErrors, NotAModel) {
  slm::testing::TempDir dir;
  const std::string path = dir.file("junk.bin");
  std::ofstream(path, std::ios::binary) << "not a model at all";
  EXPECT_THROW(Model::load(path), Error);
  EXPECT_THROW(Model::load(dir.file("absent.gguf")), Error);
  // A llama2.c header promising more weights than the file holds.
  const std::string trunc = dir.file("trunc.bin");
  const int32_t hdr[7] = {64, 172, 5, 8, 4, 512, 512};
  std::ofstream(trunc, std::ios::binary).write(reinterpret_cast<const char*>(hdr), sizeof hdr);
  try {
    Model::load(trunc);
    ADD_FAILURE() << "truncated checkpoint loaded";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("truncated"));
  }
  // Absurd sizes must not overflow into a small allocation or a read past the end.
  const int32_t huge[7] = {1 << 30, 1 << 30, 1 << 30, 1 << 20, 1 << 20, -(1 << 30), 1 << 30};
  std::ofstream(trunc, std::ios::binary).write(reinterpret_cast<const char*>(huge), sizeof huge);
  EXPECT_THROW(Model::load(trunc), Error);
  // A version-2 (int8) llama2.c checkpoint is refused by name.
  std::vector<char> v2(256, 0);
  const uint32_t magic = 0x616b3432, version = 2;
  std::memcpy(v2.data(), &magic, 4);
  std::memcpy(v2.data() + 4, &version, 4);
  std::ofstream(trunc, std::ios::binary).write(v2.data(), long(v2.size()));
  try {
    Model::load(trunc);
    ADD_FAILURE() << "version 2 loaded";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("version 2 is not supported"));
  }
}

class BatchErrors : public ::testing::Test {
 protected:
  slm::testing::TempDir dir_;
  Model m_ = [this] {
    testing::write_tiny_model({.ctx = 16}, dir_.file("m.gguf"));
    return Model::load(dir_.file("m.gguf"));
  }();

  std::string forward_error(const Batch& b, KvCache& kv, size_t n_logits) {
    std::vector<float> out(n_logits * size_t(m_.n_vocab()));
    try {
      m_.forward(b, kv, out);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(BatchErrors, TokenIdOutOfRange) {
  KvCache kv = m_.make_cache();
  Batch b;
  b.add(m_.n_vocab(), 0, 0, true);
  EXPECT_THAT(forward_error(b, kv, 1), HasSubstr("token id 97 out of range"));
  b.clear();
  b.add(-1, 0, 0, true);
  EXPECT_THAT(forward_error(b, kv, 1), HasSubstr("out of range"));
  EXPECT_EQ(kv.seq_len(0), 0);  // nothing was written
}

TEST_F(BatchErrors, SequenceIdOutOfRange) {
  KvCache kv = m_.make_cache({.n_seq = 2});
  Batch b;
  b.add(1, 0, 2, true);
  EXPECT_THAT(forward_error(b, kv, 1), HasSubstr("sequence id 2 out of range"));
}

TEST_F(BatchErrors, PromptLongerThanContext) {
  KvCache kv = m_.make_cache();
  std::vector<int32_t> toks(17, 3);
  try {
    m_.prefill(toks, kv);
    ADD_FAILURE() << "17 tokens fit a 16-position context";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("past the context length 16"));
  }
  EXPECT_EQ(kv.seq_len(0), 0);
  toks.resize(16);
  EXPECT_NO_THROW(m_.prefill(toks, kv));
  const int32_t one = 3;
  EXPECT_THROW(m_.prefill(std::span(&one, 1), kv), Error);  // decoding past the end
  EXPECT_THROW(m_.make_cache({.n_ctx = 17}), Error);          // a cache larger than the context
}

TEST_F(BatchErrors, PositionsMustContinueTheCache) {
  KvCache kv = m_.make_cache();
  Batch b;
  b.add(1, 1, 0, true);  // position 0 never fed
  EXPECT_THAT(forward_error(b, kv, 1), HasSubstr("expects position 0, got 1"));
  b.clear();
  b.add(1, 0), b.add(2, 0, 0, true);  // the same position twice
  EXPECT_THAT(forward_error(b, kv, 1), HasSubstr("expects position 1, got 0"));
}

TEST_F(BatchErrors, CacheOfAnotherModel) {
  slm::testing::TempDir dir;
  testing::write_tiny_model({.n_layer = 3}, dir.file("other.gguf"));
  KvCache other = Model::load(dir.file("other.gguf")).make_cache();
  Batch b;
  b.add(1, 0, 0, true);
  EXPECT_THAT(forward_error(b, other, 1), HasSubstr("different model"));
}

TEST_F(BatchErrors, LogitsBufferAndArraySizes) {
  KvCache kv = m_.make_cache();
  Batch b;
  b.add(1, 0, 0, true);
  EXPECT_THAT(forward_error(b, kv, 2), HasSubstr("logits buffer"));
  b.positions.push_back(1);
  EXPECT_THAT(forward_error(b, kv, 1), HasSubstr("differ in length"));
}

}  // namespace
}  // namespace slm::model
