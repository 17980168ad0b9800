// The continuous-batching scheduler: concurrent greedy sequences give exactly what each gives alone,
// the prefix cache is hit without changing outputs, cancellation frees the slot, the queue is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "common/testdata.h"
#include "core/error.h"
#include "model/model.h"
#include "runtime/scheduler.h"
#include "runtime/tiny_model.h"

namespace slm {
namespace {

using runtime::Scheduler;
using runtime::SeqEvent;
using runtime::SeqEventKind;
using runtime::SeqRequest;

struct Outcome {
  std::vector<int32_t> tokens;
  runtime::FinishReason finish{};
  int n_cached = 0;
};

// Reads a stream to its end; every wait is bounded (a stuck scheduler fails the test instead of hanging).
Outcome drain(runtime::SeqStream& s) {
  Outcome o;
  for (int i = 0; i < 10000; ++i) {
    SeqEvent e;
    if (!s.next(e, std::chrono::seconds(20))) {
      ADD_FAILURE() << "no event within 20 s";
      return o;
    }
    if (e.kind == SeqEventKind::done) {
      o.finish = e.finish;
      o.n_cached = e.n_cached;
      return o;
    }
    o.tokens.push_back(e.token);
  }
  ADD_FAILURE() << "stream did not end";
  return o;
}

SeqRequest greedy(std::vector<int32_t> prompt, int max_tokens) {
  SeqRequest r;
  r.prompt = std::move(prompt);
  r.sampling = runtime::greedy_params();
  r.max_tokens = max_tokens;
  return r;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::TinyModelSpec spec;
    spec.ctx = 128;
    spec.vocab = 96;
    testing::write_tiny_model(spec, dir_.file("tiny.gguf"));
    model_ = std::make_unique<model::Model>(model::Model::load(dir_.file("tiny.gguf")));
  }
  std::vector<int32_t> prompt(int i, int len) const {
    std::vector<int32_t> p;
    for (int j = 0; j < len; ++j) p.push_back(int32_t((i * 7 + j * 13 + 1) % 96));
    return p;
  }
  Outcome alone(const SeqRequest& proto, runtime::SchedulerOptions opt = {}) {
    opt.max_seqs = 1;
    Scheduler s(*model_, opt);
    std::vector<SeqRequest> v;
    v.push_back(greedy(proto.prompt, proto.max_tokens));
    auto streams = s.submit(std::move(v));
    EXPECT_EQ(streams.size(), 1u);
    return drain(*streams[0]);
  }
  testing::TempDir dir_;
  std::unique_ptr<model::Model> model_;
};

TEST_F(SchedulerTest, ConcurrentGreedyEqualsAlone) {
  std::vector<SeqRequest> reqs;
  for (int i = 0; i < 32; ++i) reqs.push_back(greedy(prompt(i, 3 + i % 11), 4 + i % 5));
  std::vector<Outcome> want;
  for (const SeqRequest& r : reqs) want.push_back(alone(r, {.prefix_cache = false}));

  Scheduler s(*model_, {.max_seqs = 8, .max_queue = 64, .step_tokens = 16});
  std::vector<SeqRequest> copy;
  for (const SeqRequest& r : reqs) copy.push_back(greedy(r.prompt, r.max_tokens));
  auto streams = s.submit(std::move(copy));
  ASSERT_EQ(streams.size(), 32u);
  for (size_t i = 0; i < streams.size(); ++i) {
    const Outcome got = drain(*streams[i]);
    EXPECT_EQ(got.tokens, want[i].tokens) << "request " << i;
    EXPECT_EQ(got.finish, want[i].finish) << "request " << i;
  }
  EXPECT_GT(s.stats().step_rows.load(), s.stats().steps.load());  // steps really batched several rows
}

TEST_F(SchedulerTest, PrefixCacheHitKeepsOutputs) {
  const std::vector<int32_t> shared = prompt(3, 40);
  std::vector<SeqRequest> reqs;
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> p = shared;
    p.push_back(int32_t(10 + i));
    p.push_back(int32_t(20 + i));
    reqs.push_back(greedy(p, 6));
  }
  Scheduler s(*model_, {.max_seqs = 4, .kv_block = 8});
  // The first request fills the cache; the others (sequentially, then together) share its 5 whole blocks.
  std::vector<SeqRequest> first;
  first.push_back(greedy(reqs[0].prompt, 6));
  const Outcome o0 = drain(*s.submit(std::move(first))[0]);
  EXPECT_EQ(o0.tokens, alone(reqs[0], {.prefix_cache = false}).tokens);
  std::vector<SeqRequest> rest;
  for (int i = 1; i < 4; ++i) rest.push_back(greedy(reqs[size_t(i)].prompt, 6));
  auto streams = s.submit(std::move(rest));
  ASSERT_EQ(streams.size(), 3u);
  for (int i = 1; i < 4; ++i) {
    const Outcome o = drain(*streams[size_t(i - 1)]);
    EXPECT_GE(o.n_cached, 40) << i;
    EXPECT_EQ(o.tokens, alone(reqs[size_t(i)], {.prefix_cache = false}).tokens) << i;
  }
  EXPECT_GE(s.stats().prefix_hits.load(), 3);
  EXPECT_GE(s.stats().prompt_tokens_cached.load(), 120);
}

TEST_F(SchedulerTest, CancelFreesTheSlot) {
  // A long context, so the first sequence cannot finish on its own before the cancel lands.
  testing::TinyModelSpec spec;
  spec.ctx = 2048;
  spec.vocab = 96;
  testing::write_tiny_model(spec, dir_.file("long.gguf"));
  const model::Model m = model::Model::load(dir_.file("long.gguf"));
  Scheduler s(m, {.max_seqs = 1, .max_queue = 4});
  std::vector<SeqRequest> one;
  one.push_back(greedy(prompt(1, 4), 2000));
  auto a = s.submit(std::move(one));
  ASSERT_EQ(a.size(), 1u);
  SeqEvent e;
  ASSERT_TRUE(a[0]->next(e, std::chrono::seconds(20)));
  a[0]->cancel();
  // The only slot must come free: a second request completes.
  std::vector<SeqRequest> two;
  two.push_back(greedy(prompt(2, 4), 3));
  auto b = s.submit(std::move(two));
  ASSERT_EQ(b.size(), 1u);
  const Outcome ob = drain(*b[0]);
  EXPECT_EQ(ob.tokens.size(), 3u);
  const Outcome oa = drain(*a[0]);
  EXPECT_EQ(oa.finish, runtime::FinishReason::cancelled);
  EXPECT_LT(oa.tokens.size(), 1999u);
}

TEST_F(SchedulerTest, ShortKvPoolQueuesInsteadOfFailing) {
  // 6 blocks of 8 positions; each request may need 3 (10 prompt + 14 generated), so at most two run.
  Scheduler s(*model_, {.max_seqs = 4, .max_queue = 8, .kv_block = 8, .kv_blocks = 6});
  EXPECT_EQ(s.stats().kv_blocks_total.load(), 6);
  std::vector<SeqRequest> reqs;
  std::vector<Outcome> want;
  for (int i = 0; i < 6; ++i) {
    reqs.push_back(greedy(prompt(20 + i, 10), 14));
    want.push_back(alone(reqs.back(), {.prefix_cache = false}));
  }
  auto streams = s.submit(std::move(reqs));
  ASSERT_EQ(streams.size(), 6u);
  for (size_t i = 0; i < streams.size(); ++i) {
    const Outcome o = drain(*streams[i]);
    EXPECT_EQ(o.tokens, want[i].tokens) << i;
    EXPECT_EQ(o.finish, runtime::FinishReason::length) << i;
  }
  EXPECT_LE(s.stats().kv_blocks_used.load(), 6);
  // More than the whole pool can ever hold is a bad request, not a wait forever.
  std::vector<SeqRequest> huge;
  huge.push_back(greedy(prompt(1, 10), 60));
  EXPECT_THROW(s.submit(std::move(huge)), Error);
}

TEST_F(SchedulerTest, PrefixBlocksAreEvictedWhenThePoolIsShort) {
  // Every finished request leaves its whole blocks cached; the pool holds about two requests' worth, so
  // later ones evict the least recently used. Outputs never change, and the shared prefix still hits.
  Scheduler s(*model_, {.max_seqs = 2, .kv_block = 8, .kv_blocks = 8});
  const std::vector<int32_t> task = prompt(5, 16);
  for (int i = 0; i < 6; ++i) {
    std::vector<int32_t> p = i % 2 == 0 ? task : prompt(30 + i, 16);
    p.push_back(int32_t(40 + i));
    SeqRequest r = greedy(p, 8);
    const Outcome want = alone(r, {.prefix_cache = false});
    std::vector<SeqRequest> v;
    v.push_back(std::move(r));
    const Outcome got = drain(*s.submit(std::move(v))[0]);
    EXPECT_EQ(got.tokens, want.tokens) << i;
    if (i == 2 || i == 4) EXPECT_EQ(got.n_cached, 16) << i;
    EXPECT_LE(s.stats().kv_blocks_cached.load(), 8);
  }
  EXPECT_GE(s.stats().prefix_hits.load(), 2);
}

TEST_F(SchedulerTest, QueueIsBoundedAndBadRequestsThrow) {
  Scheduler s(*model_, {.max_seqs = 1, .max_queue = 2});
  std::vector<SeqRequest> three;
  for (int i = 0; i < 3; ++i) three.push_back(greedy(prompt(i, 4), 2));
  EXPECT_TRUE(s.submit(std::move(three)).empty());  // all or none
  std::vector<SeqRequest> bad;
  bad.push_back(greedy({}, 2));
  EXPECT_THROW(s.submit(std::move(bad)), Error);
  std::vector<SeqRequest> too_long;
  too_long.push_back(greedy(prompt(1, 128), 2));
  EXPECT_THROW(s.submit(std::move(too_long)), Error);
  std::vector<SeqRequest> bad_id;
  bad_id.push_back(greedy({1, 500}, 2));
  EXPECT_THROW(s.submit(std::move(bad_id)), Error);
}

TEST_F(SchedulerTest, DeadlineEndsASequence) {
  Scheduler s(*model_, {.max_seqs = 2});
  std::vector<SeqRequest> v;
  v.push_back(greedy(prompt(1, 4), 120));
  v[0].deadline = runtime::Clock::now();  // already past
  auto st = s.submit(std::move(v));
  ASSERT_EQ(st.size(), 1u);
  SeqEvent e;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(st[0]->next(e, std::chrono::seconds(20)));
    if (e.kind == SeqEventKind::done) break;
  }
  ASSERT_EQ(e.kind, SeqEventKind::done);
  EXPECT_TRUE(e.timed_out);
}

TEST_F(SchedulerTest, StopDrainsRunningSequences) {
  auto s = std::make_unique<Scheduler>(*model_, runtime::SchedulerOptions{.max_seqs = 2});
  std::vector<SeqRequest> v;
  v.push_back(greedy(prompt(1, 4), 10));
  auto st = s->submit(std::move(v));
  s->stop(/*drain=*/true);
  const Outcome o = drain(*st[0]);
  EXPECT_EQ(o.tokens.size(), 10u);
  EXPECT_EQ(o.finish, runtime::FinishReason::length);
  std::vector<SeqRequest> late;
  late.push_back(greedy(prompt(1, 4), 2));
  EXPECT_TRUE(s->submit(std::move(late)).empty());
}

}  // namespace
}  // namespace slm
