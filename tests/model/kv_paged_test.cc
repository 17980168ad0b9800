// The paged KV cache: same logits as the contiguous one (interleaved multi-sequence batches, blocks
// scattered over the pool), shared prefix blocks with copy on write, reference counts, exhaustion errors.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/testdata.h"
#include "core/error.h"
#include "model/model.h"
#include "model/tiny_model.h"

namespace slm::model {
namespace {

using testing::TinySpec;

const std::vector<int32_t> kA = {1, 5, 17, 42, 3, 96, 0, 33, 8, 61, 7, 12, 90, 4, 4, 27, 63, 2};
const std::vector<int32_t> kB = {9, 9, 14, 70, 31, 2, 5};

class KvPagedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = dir_.file("llama.gguf");
    testing::write_tiny_model(TinySpec{.arch = "llama"}, path);
    m_ = std::make_unique<Model>(Model::load(path));
  }
  // Feeds two sequences token by token, interleaved in one batch per step (as the scheduler does), and
  // returns every logits row in order.
  std::vector<float> interleaved(KvCache& kv) const {
    std::vector<float> out;
    const size_t nv = size_t(m_->n_vocab());
    for (size_t i = 0; i < std::max(kA.size(), kB.size()); ++i) {
      Batch b;
      if (i < kA.size()) b.add(kA[i], int(i), 0, true);
      if (i < kB.size()) b.add(kB[i], int(i), 1, true);
      std::vector<float> logits(b.n_logits() * nv);
      m_->forward(b, kv, logits);
      out.insert(out.end(), logits.begin(), logits.end());
    }
    return out;
  }
  slm::testing::TempDir dir_;
  std::unique_ptr<Model> m_;
};

TEST_F(KvPagedTest, SameLogitsAsContiguous) {
  for (KvType t : {KvType::f32, KvType::f16}) {
    KvCache flat = m_->make_cache({.n_seq = 2, .type = t});
    KvCache paged = m_->make_cache({.n_seq = 2, .type = t, .block = 4});
    EXPECT_FALSE(flat.paged());
    ASSERT_TRUE(paged.paged());
    EXPECT_EQ(paged.n_blocks(), 2 * 16);  // two sequences of 64 positions
    const std::vector<float> want = interleaved(flat), got = interleaved(paged);
    EXPECT_EQ(want, got);  // the same arithmetic in the same order: bit for bit
    // Interleaving scattered each sequence's blocks over the pool.
    const auto t0 = paged.block_table(0);
    EXPECT_EQ(t0.size(), (kA.size() + 3) / 4);
    EXPECT_NE(t0[1], t0[0] + 1);
    EXPECT_EQ(paged.free_blocks(), paged.n_blocks() - int(t0.size() + paged.block_table(1).size()));
  }
}

TEST_F(KvPagedTest, SharedPrefixBlocksGiveTheSameLogits) {
  // Reference: two contiguous sequences fed in the same chunks (bit equality needs equal batch shapes).
  const std::span<const int32_t> head = std::span(kA).first(10), tail = std::span(kA).subspan(10);
  KvCache flat = m_->make_cache({.n_seq = 2, .type = KvType::f32});
  m_->prefill(head, flat, 0);
  const std::vector<float> want_rest = m_->prefill(tail, flat, 0, true);
  m_->prefill(head, flat, 1);
  m_->prefill(tail.first(7), flat, 1);
  const std::vector<float> want_last = m_->prefill(tail.subspan(7), flat, 1);

  KvCache kv = m_->make_cache({.n_seq = 2, .type = KvType::f32, .block = 4});
  m_->prefill(head, kv, 0);
  m_->prefill(tail.first(7), kv, 0);  // 17 positions: 5 blocks
  // Sequence 1 starts on sequence 0's first three blocks, the last one partly (10 of 12 positions), so
  // its first write copies that block and leaves sequence 0's rows alone.
  const std::vector<int32_t> shared(kv.block_table(0).begin(), kv.block_table(0).begin() + 3);
  kv.attach(1, shared, 10);
  for (int32_t b : shared) EXPECT_EQ(kv.block_refs(b), 2);
  const int free_before = kv.free_blocks();
  const std::vector<float> rest = m_->prefill(tail, kv, 1, true);
  EXPECT_EQ(kv.block_table(1)[0], shared[0]);
  EXPECT_EQ(kv.block_table(1)[1], shared[1]);
  EXPECT_NE(kv.block_table(1)[2], shared[2]);  // copied on write
  EXPECT_EQ(kv.block_refs(shared[2]), 1);
  EXPECT_EQ(free_before - kv.free_blocks(), 1 + 2);  // the copy plus blocks 3 and 4
  EXPECT_EQ(rest, want_rest);
  // Sequence 0 still reads its own rows (positions 10 and 11 of its block 2 were not overwritten).
  EXPECT_EQ(m_->prefill(tail.subspan(7), kv, 0), want_last);
}

TEST_F(KvPagedTest, ReferencesReturnBlocksToThePool) {
  KvCache kv = m_->make_cache({.n_seq = 2, .block = 8, .n_blocks = 5});
  m_->prefill(kA, kv, 0);  // 18 positions: 3 blocks
  EXPECT_EQ(kv.free_blocks(), 2);
  const std::vector<int32_t> held(kv.block_table(0).begin(), kv.block_table(0).end());
  kv.retain_block(held[0]);  // an outside owner (a prefix cache)
  kv.clear(0);
  EXPECT_EQ(kv.free_blocks(), 4);
  EXPECT_EQ(kv.block_refs(held[0]), 1);
  kv.release_block(held[0]);
  EXPECT_EQ(kv.free_blocks(), 5);
  EXPECT_EQ(kv.blocks_needed(1, 20), 3);
  EXPECT_TRUE(kv.reserve(1, 20));
  EXPECT_FALSE(kv.reserve(0, 64));  // would need 8 of the 2 left: nothing changes
  EXPECT_EQ(kv.free_blocks(), 2);
  EXPECT_TRUE(kv.block_table(0).empty());
}

TEST_F(KvPagedTest, ExhaustedPoolIsAnErrorNotACrash) {
  KvCache kv = m_->make_cache({.n_seq = 2, .block = 4, .n_blocks = 3});
  EXPECT_THROW(m_->prefill(kA, kv, 0), Error);  // 18 positions need 5 blocks
  kv.clear(0);
  EXPECT_EQ(kv.free_blocks(), 3);
  m_->prefill(kB, kv, 1);  // 7 positions: 2 blocks
  EXPECT_EQ(kv.seq_len(1), 7);
  EXPECT_THROW(kv.attach(1, std::vector<int32_t>{0}, 4), Error);  // not empty
  EXPECT_THROW(m_->make_cache({.block = -1}), Error);
  EXPECT_THROW(m_->make_cache({.n_blocks = -2}), Error);
}

}  // namespace
}  // namespace slm::model
