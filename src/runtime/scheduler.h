// Continuous batching: one thread runs a batched forward step over every active sequence, mixing prompt
// (prefill) chunks and decode tokens, and admits queued sequences as slots and KV blocks free up. KV memory
// is a paged pool of fixed-size blocks; a prompt that starts with blocks another sequence computed (running
// or finished) shares them instead of recomputing them (prefix cache).
//
//   Scheduler s(model, {.max_seqs = 8});
//   auto stream = s.submit(std::move(req));     // null when the queue is full (the server answers 429)
//   SeqEvent e; while (stream->next(e, 1s) ...) // token events, then one `done` event
//   stream->cancel();                            // the slot is freed within one step
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/model.h"
#include "runtime/constrained/constraint.h"
#include "runtime/prefix_cache.h"
#include "runtime/generate.h"
#include "runtime/sampling.h"
#include "runtime/stop.h"

namespace slm::runtime {

using Clock = std::chrono::steady_clock;

struct SeqRequest {
  std::vector<int32_t> prompt;  // at least one token, shorter than the context
  SamplingParams sampling;
  int max_tokens = 128;  // >= 1
  std::vector<std::string> stop_strings;
  std::vector<int32_t> stop_tokens;
  int n_logprobs = -1;  // < 0: none; 0: the chosen token's; n: plus the n best
  std::shared_ptr<constrained::TokenIndex> constraint;  // null: unconstrained
  std::unique_ptr<PieceDecoder> decoder;                // null: IdDecoder
  std::optional<Clock::time_point> deadline;            // past it the sequence ends (timed_out)
  int adapter = -1;  // the model's LoRA adapter (Model::add_lora index) this sequence uses; -1: none
};

enum class SeqEventKind { token, done };

struct SeqEvent {
  SeqEventKind kind = SeqEventKind::token;
  int32_t token = -1;
  std::string text;                 // text now safe to show (may be empty)
  std::optional<Sampled> logprobs;  // when asked
  Clock::time_point at;             // when the token was sampled
  // done only:
  FinishReason finish = FinishReason::length;
  bool timed_out = false;  // finish == cancelled because the deadline passed
  std::string error;       // non-empty when the step failed (finish == cancelled)
  int n_prompt = 0, n_cached = 0, n_gen = 0;
};

// What the scheduler hands a client: a queue of events plus a cancel flag. Thread-safe.
class SeqStream {
 public:
  // Waits up to `timeout` for the next event; false when none came.
  bool next(SeqEvent& out, Clock::duration timeout);
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  void push(SeqEvent e);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SeqEvent> events_;
  std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
  int max_seqs = 8;          // sequences decoded together
  int max_queue = 64;        // waiting sequences beyond that are refused
  int n_ctx = 0;             // per sequence; 0 = min(model context, 4096)
  model::KvType kv_type = model::KvType::f16;
  int step_tokens = 256;     // rows per forward step: decode tokens first, then prompt chunks
  int prefill_while_decoding = 64;  // prompt rows per step while other sequences decode (their latency)
  bool prefix_cache = true;  // share the KV blocks of a cached prompt prefix
  int kv_block = 16;         // positions per KV block
  int kv_blocks = 0;         // blocks in the pool; 0 = max_seqs * ceil(n_ctx / kv_block)
};

// Counters and gauges the server exports (read without locking; values may be a step old).
struct SchedulerStats {
  std::atomic<int64_t> queue_depth{0}, active{0}, kv_blocks_used{0}, kv_blocks_total{0}, kv_blocks_cached{0};
  std::atomic<int64_t> prompt_tokens{0}, prompt_tokens_cached{0}, generated_tokens{0};
  std::atomic<int64_t> prefix_lookups{0}, prefix_hits{0};
  std::atomic<int64_t> steps{0}, step_rows{0};
  std::atomic<int64_t> step_ns{0}, forward_ns{0};  // whole steps, and their forward passes
  std::atomic<int64_t> constrained_tokens{0}, constraint_ns{0};  // time spent masking and advancing
};

class Scheduler {
 public:
  Scheduler(const model::Model& model, SchedulerOptions opt = {});
  ~Scheduler();  // stop(false)
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues the requests together (all or none). Returns one stream per request, or an empty vector when
  // the queue cannot take them all or the scheduler is stopping. Throws slm::Error for a bad request
  // (empty prompt, prompt that does not fit the context, token out of range, max_tokens < 1, prompt plus
  // max_tokens needing more KV blocks than the whole pool). A sequence is admitted when a slot is free and
  // the pool can hold its prompt plus max_tokens (cached prefix blocks count once); until then it waits.
  std::vector<std::shared_ptr<SeqStream>> submit(std::vector<SeqRequest> reqs);

  // Stops admitting; drain = finish what is queued and running first, else cancel everything. Joins.
  void stop(bool drain);

  int n_ctx() const { return n_ctx_; }
  int max_seqs() const { return opt_.max_seqs; }
  const SchedulerStats& stats() const { return stats_; }
  const model::Model& model() const { return model_; }

 private:
  struct Seq;
  void loop();
  void admit();
  int blocks_for(const SeqRequest& r) const;
  int blocks_promised() const;
  void cache_blocks(Seq& s);
  bool step();
  void finish(Seq& s, FinishReason why, bool timed_out = false, std::string error = {});
  // One sequence's pick of a step: the id (and log-probabilities), the constraint's time, or why it failed.
  struct Pick {
    Sampled sampled;
    int64_t constraint_ns = 0;
    std::string error;
  };
  // A sequence's next id from its logits row (constraint mask, then sampling; the row is scratch). Touches
  // only that sequence: the rows of one step are picked in parallel.
  Pick pick(Seq& s, std::span<float> logits);
  // Accepts the picked id: streams its text and ends the sequence when a stop condition holds.
  void take(Seq& s, Pick& p);
  void update_gauges();

  const model::Model& model_;
  SchedulerOptions opt_;
  int n_ctx_ = 0;
  model::KvCache kv_;                        // paged: sequence id = slot
  PrefixCache prefix_;
  std::vector<std::unique_ptr<Seq>> slots_;  // per slot: the running sequence or null
  std::deque<std::unique_ptr<Seq>> queue_;
  std::mutex mu_;                            // guards queue_, stopping_, draining_
  std::condition_variable cv_;
  bool stopping_ = false, draining_ = false;
  uint64_t step_no_ = 0;
  SchedulerStats stats_;
  std::vector<float> logits_;
  std::vector<Pick> picks_;  // per logits row of a step (kept: no allocation per step)
  std::thread thread_;
};

}  // namespace slm::runtime
