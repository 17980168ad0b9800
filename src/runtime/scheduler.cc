// Continuous batching scheduler: admission (slots and KV blocks), prefix sharing, the mixed
// prefill/decode step and sampling.
#include "runtime/scheduler.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/thread_pool.h"

namespace slm::runtime {

bool SeqStream::next(SeqEvent& out, Clock::duration timeout) {
  std::unique_lock lk(mu_);
  if (!cv_.wait_for(lk, timeout, [&] { return !events_.empty(); })) return false;
  out = std::move(events_.front());
  events_.pop_front();
  return true;
}

void SeqStream::push(SeqEvent e) {
  {
    std::lock_guard lk(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

struct Scheduler::Seq {
  SeqRequest req;
  std::shared_ptr<SeqStream> stream;
  Sampler sampler;
  StopMatcher stop;
  std::optional<constrained::Constraint> cons;
  int slot = -1;
  int blocks = 0;        // KV blocks the sequence may come to hold (prompt plus max_tokens)
  std::vector<int32_t> held;  // the tokens its KV positions hold
  uint64_t chain = PrefixCache::kRoot;  // prefix-cache key of its first `keyed` blocks
  size_t keyed = 0;
  size_t fed = 0;        // prompt tokens the KV cache holds (cached ones included)
  bool decoding = false;  // the whole prompt is in; `last` is the next token to feed
  int32_t last = -1;
  int n_gen = 0, n_cached = 0;

  explicit Seq(SeqRequest r)
      : req(std::move(r)), stream(std::make_shared<SeqStream>()), sampler(req.sampling), stop(req.stop_strings) {
    if (!req.decoder) req.decoder = std::make_unique<IdDecoder>();
    if (req.constraint) cons.emplace(req.constraint);
    for (int32_t t : req.prompt) sampler.accept(t);
  }
};

Scheduler::Scheduler(const model::Model& model, SchedulerOptions opt)
    : model_(model),
      opt_(opt),
      n_ctx_(opt.n_ctx > 0 ? opt.n_ctx : std::min(model.n_ctx(), 4096)),
      kv_(model.make_cache({.n_seq = std::max(1, opt.max_seqs),
                            .n_ctx = n_ctx_,
                            .type = opt.kv_type,
                            .block = opt.kv_block < 1 ? 1 : opt.kv_block,
                            .n_blocks = std::max(0, opt.kv_blocks)})),
      prefix_(kv_) {
  if (opt_.max_seqs < 1) fail("[scheduler] max_seqs must be at least 1, got {}", opt_.max_seqs);
  if (opt_.max_queue < 0) fail("[scheduler] max_queue must not be negative, got {}", opt_.max_queue);
  if (opt_.step_tokens < opt_.max_seqs)
    fail("[scheduler] step_tokens ({}) must be at least max_seqs ({})", opt_.step_tokens, opt_.max_seqs);
  if (opt_.prefill_while_decoding < 1) fail("[scheduler] prefill_while_decoding must be at least 1");
  if (opt_.kv_block < 1) fail("[scheduler] kv_block must be at least 1");
  if (opt_.kv_blocks < 0) fail("[scheduler] kv_blocks must not be negative");
  slots_.resize(size_t(opt_.max_seqs));
  stats_.kv_blocks_total = kv_.n_blocks();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(false); }

std::vector<std::shared_ptr<SeqStream>> Scheduler::submit(std::vector<SeqRequest> reqs) {
  for (size_t i = 0; i < reqs.size(); ++i) {
    const SeqRequest& r = reqs[i];
    if (r.prompt.empty()) fail("[scheduler] empty prompt");
    if (r.prompt.size() >= size_t(n_ctx_))
      fail("[scheduler] the prompt has {} tokens; the context holds {} (prompt plus at least one generated)",
           r.prompt.size(), n_ctx_);
    for (int32_t t : r.prompt) {
      if (t < 0 || t >= model_.n_vocab()) fail("[scheduler] prompt token id {} out of range [0, {})", t, model_.n_vocab());
    }
    if (r.max_tokens < 1) fail("[scheduler] max_tokens must be at least 1, got {}", r.max_tokens);
    if (r.adapter < -1 || r.adapter >= model_.n_loras())
      fail("[scheduler] LoRA adapter {} out of range (the model has {})", r.adapter, model_.n_loras());
    if (blocks_for(r) > kv_.n_blocks())
      fail("[scheduler] a prompt of {} tokens plus max_tokens {} needs {} KV blocks of {}; the pool has {}",
           r.prompt.size(), r.max_tokens, blocks_for(r), opt_.kv_block, kv_.n_blocks());
  }
  std::vector<std::unique_ptr<Seq>> seqs;
  std::vector<std::shared_ptr<SeqStream>> out;
  for (SeqRequest& r : reqs) {
    seqs.push_back(std::make_unique<Seq>(std::move(r)));
    out.push_back(seqs.back()->stream);
  }
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() + seqs.size() > size_t(opt_.max_queue)) return {};
    for (auto& s : seqs) queue_.push_back(std::move(s));
    stats_.queue_depth = int64_t(queue_.size());
  }
  cv_.notify_all();
  return out;
}

void Scheduler::stop(bool drain) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      draining_ = drain;
    } else if (!drain) {
      draining_ = false;
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::finish(Seq& s, FinishReason why, bool timed_out, std::string error) {
  SeqEvent e;
  e.kind = SeqEventKind::done;
  e.finish = why;
  e.timed_out = timed_out;
  e.error = std::move(error);
  e.at = Clock::now();
  e.n_prompt = int(s.req.prompt.size());
  e.n_cached = s.n_cached;
  e.n_gen = s.n_gen;
  s.stream->push(std::move(e));
  if (s.slot >= 0) {
    kv_.clear(s.slot);  // its blocks go back to the pool, or stay in the prefix cache
    slots_[size_t(s.slot)].reset();  // destroys s
  }
}

int Scheduler::blocks_for(const SeqRequest& r) const {
  const int64_t n = std::min<int64_t>(int64_t(r.prompt.size()) + r.max_tokens, n_ctx_);
  return int((n + opt_.kv_block - 1) / opt_.kv_block);
}

// Blocks the running sequences may still take from the pool.
int Scheduler::blocks_promised() const {
  int n = 0;
  for (const auto& s : slots_) {
    if (s) n += std::max(0, s->blocks - int(kv_.block_table(s->slot).size()));
  }
  return n;
}

// Moves queued sequences into free slots, in order, while the pool can hold what each may need: free
// blocks plus cached blocks nobody uses, less what running sequences may still take. Caller holds mu_.
void Scheduler::admit() {
  while (!queue_.empty()) {
    Seq& front = *queue_.front();
    if (front.stream->cancelled() || (front.req.deadline && Clock::now() > *front.req.deadline)) {
      const bool late = !front.stream->cancelled();
      std::unique_ptr<Seq> s = std::move(queue_.front());
      queue_.pop_front();
      finish(*s, FinishReason::cancelled, late);
      continue;
    }
    const auto free_slot = std::find(slots_.begin(), slots_.end(), nullptr);
    if (free_slot == slots_.end()) return;
    const std::vector<int32_t>& p = front.req.prompt;
    // Whole cached blocks of the prompt, short of its last token (that one's logits start the answer).
    std::vector<int32_t> shared;
    if (opt_.prefix_cache) shared = prefix_.lookup(p, p.size() - 1, PrefixCache::root(front.req.adapter), step_no_);
    int pinned = 0;  // shared blocks only the cache holds: attaching makes them unevictable
    for (int32_t b : shared) pinned += kv_.block_refs(b) == 1;
    const int blocks = blocks_for(front.req);
    const int need = blocks - int(shared.size()) + pinned;
    if (need > kv_.free_blocks() + prefix_.evictable() - blocks_promised()) return;  // waits for blocks
    std::unique_ptr<Seq> s = std::move(queue_.front());
    queue_.pop_front();
    s->slot = int(free_slot - slots_.begin());
    s->blocks = blocks;
    const size_t cached = shared.size() * size_t(opt_.kv_block);
    kv_.attach(s->slot, shared, int(cached));
    s->held.assign(p.begin(), p.begin() + ptrdiff_t(cached));
    s->chain = PrefixCache::root(s->req.adapter);
    for (size_t i = 0; i < shared.size(); ++i)
      s->chain = PrefixCache::key(s->chain, std::span(p).subspan(i * size_t(opt_.kv_block), size_t(opt_.kv_block)));
    s->keyed = shared.size();
    s->fed = cached;
    s->n_cached = int(cached);
    ++stats_.prefix_lookups;
    if (cached > 0) ++stats_.prefix_hits;
    stats_.prompt_tokens += int64_t(p.size());
    stats_.prompt_tokens_cached += int64_t(cached);
    *free_slot = std::move(s);
  }
}

// Offers the sequence's newly filled blocks to the prefix cache.
void Scheduler::cache_blocks(Seq& s) {
  const size_t b = size_t(opt_.kv_block);
  const std::span<const int32_t> table = kv_.block_table(s.slot);
  while ((s.keyed + 1) * b <= s.held.size() && s.keyed < table.size()) {
    s.chain = prefix_.insert(s.chain, std::span(s.held).subspan(s.keyed * b, b), table[s.keyed], step_no_);
    ++s.keyed;
  }
}

void Scheduler::update_gauges() {
  int64_t active = 0;
  for (const auto& s : slots_) active += s != nullptr;
  stats_.active = active;
  stats_.kv_blocks_used = kv_.n_blocks() - kv_.free_blocks();
  stats_.kv_blocks_cached = int64_t(prefix_.size());
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (stopping_ && !draining_) {
        while (!queue_.empty()) {
          std::unique_ptr<Seq> s = std::move(queue_.front());
          queue_.pop_front();
          finish(*s, FinishReason::cancelled);
        }
        for (auto& s : slots_) {
          if (s) finish(*s, FinishReason::cancelled);
        }
      }
      admit();
      stats_.queue_depth = int64_t(queue_.size());
      update_gauges();
      if (stats_.active == 0) {
        if (stopping_ && queue_.empty()) return;
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        continue;
      }
    }
    step();
  }
}

// One forward step over every active sequence: one decode row each for those past their prompt, then
// prompt chunks in slot order (rotating the first slot so no prompt starves) within step_tokens rows.
bool Scheduler::step() {
  ++step_no_;
  const auto now = Clock::now();
  const auto ns_since = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
  };
  for (auto& s : slots_) {
    if (!s) continue;
    if (s->stream->cancelled()) {
      finish(*s, FinishReason::cancelled);
    } else if (s->req.deadline && now > *s->req.deadline) {
      finish(*s, FinishReason::cancelled, true);
    }
  }
  model::Batch batch;
  std::vector<Seq*> rows;  // the sequence of each logits row
  int budget = opt_.step_tokens;
  for (auto& s : slots_) {
    if (!s || !s->decoding) continue;
    batch.add(s->last, kv_.seq_len(s->slot), s->slot, true);
    rows.push_back(s.get());
    --budget;
  }
  // Prompt rows delay every decode row of the step: while sequences decode, take fewer of them.
  if (!rows.empty()) budget = std::min(budget, opt_.prefill_while_decoding);
  const int n = opt_.max_seqs;
  for (int k = 0; k < n && budget > 0; ++k) {
    Seq* s = slots_[size_t((int(step_no_) + k) % n)].get();
    if (!s || s->decoding) continue;
    const size_t take_n = std::min(size_t(budget), s->req.prompt.size() - s->fed);
    const int base = kv_.seq_len(s->slot);
    for (size_t j = 0; j < take_n; ++j) {
      const bool last = s->fed + j + 1 == s->req.prompt.size();
      batch.add(s->req.prompt[s->fed + j], base + int(j), s->slot, last);
    }
    s->fed += take_n;
    budget -= int(take_n);
    if (s->fed == s->req.prompt.size()) {
      s->decoding = true;  // its logits row samples the first token
      rows.push_back(s);
    }
  }
  if (batch.size() == 0) return false;
  if (model_.n_loras() > 0) {  // each row runs its own sequence's adapter (or none)
    for (size_t r = 0; r < batch.size(); ++r) batch.adapters.push_back(slots_[size_t(batch.seq_ids[r])]->req.adapter);
  }
  // Logit rows come out in batch order; decode rows were added first, then prompts in the order above.
  std::vector<Seq*> ordered;
  for (size_t r = 0, i = 0; r < batch.size(); ++r) {
    if (!batch.want_logits[r]) continue;
    const int seq = batch.seq_ids[r];
    auto it = std::find_if(rows.begin(), rows.end(), [&](Seq* s) { return s && s->slot == seq; });
    ordered.push_back(*it);
    ++i;
  }
  const size_t n_vocab = size_t(model_.n_vocab());
  logits_.resize(batch.n_logits() * n_vocab);
  try {
    // Admission promised these blocks; take back cached blocks nobody uses if the free list is short.
    std::map<int, int> end;
    for (size_t r = 0; r < batch.size(); ++r) end[batch.seq_ids[r]] = batch.positions[r] + 1;
    int need = 0;
    for (auto [seq, e] : end) need += kv_.blocks_needed(seq, e);
    prefix_.make_free(need);
    const auto t0 = Clock::now();
    model_.forward(batch, kv_, logits_);
    stats_.forward_ns += ns_since(t0);
  } catch (const Error& e) {
    for (auto& s : slots_) {
      if (s) finish(*s, FinishReason::cancelled, false, e.what());
    }
    return true;
  }
  ++stats_.steps;
  stats_.step_rows += int64_t(batch.size());
  for (size_t r = 0; r < batch.size(); ++r) slots_[size_t(batch.seq_ids[r])]->held.push_back(batch.tokens[r]);
  if (opt_.prefix_cache) {
    for (auto& s : slots_) {
      if (s) cache_blocks(*s);
    }
  }
  // Sampling reads a whole vocabulary row per sequence: the rows go over the pool, then the ids are taken in
  // order (streams, stop conditions, stats) on this thread.
  picks_.resize(ordered.size());
  global_pool().for_range(int64_t(ordered.size()), 1, [&](int64_t b, int64_t e) {
    for (size_t i = size_t(b); i < size_t(e); ++i)
      picks_[i] = pick(*ordered[i], std::span(logits_).subspan(i * n_vocab, n_vocab));
  });
  for (size_t r = 0; r < ordered.size(); ++r) {
    if (!picks_[r].error.empty()) {
      finish(*ordered[r], FinishReason::cancelled, false, picks_[r].error);
    } else {
      take(*ordered[r], picks_[r]);
    }
  }
  stats_.step_ns += ns_since(now);
  return true;
}

Scheduler::Pick Scheduler::pick(Seq& s, std::span<float> logits) {
  const SeqRequest& r = s.req;
  const auto t0 = Clock::now();
  Pick p;
  try {
    if (s.cons) s.cons->mask_logits(logits);
    if (r.n_logprobs >= 0) {
      p.sampled = s.sampler.sample_with_logprobs(logits, r.n_logprobs);
    } else {
      p.sampled.id = s.sampler.sample_row(logits);
    }
  } catch (const Error& e) {
    p.error = e.what();
  }
  if (s.cons) p.constraint_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  return p;
}

void Scheduler::take(Seq& s, Pick& p) {
  const SeqRequest& r = s.req;
  const auto t0 = Clock::now();
  const int32_t id = p.sampled.id;
  bool cons_done = false;
  if (s.cons) {
    s.cons->advance(id);
    cons_done = s.cons->done();
    ++stats_.constrained_tokens;
    stats_.constraint_ns +=
        p.constraint_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  }
  s.sampler.accept(id);
  ++s.n_gen;
  ++stats_.generated_tokens;

  SeqEvent e;
  e.token = id;
  e.at = Clock::now();
  if (r.n_logprobs >= 0) e.logprobs = std::move(p.sampled);
  std::optional<FinishReason> why;
  if (std::find(r.stop_tokens.begin(), r.stop_tokens.end(), id) != r.stop_tokens.end()) {
    why = FinishReason::stop_token;
    e.logprobs.reset();  // a stop token is not part of the answer
  } else {
    e.text = s.stop.push(s.req.decoder->push(id));
    if (s.stop.stopped()) {
      why = FinishReason::stop_string;
    } else if (cons_done) {
      why = FinishReason::stop_token;  // the constrained answer is complete
    } else if (s.n_gen >= r.max_tokens) {
      why = FinishReason::length;
    } else if (kv_.seq_len(s.slot) >= n_ctx_) {
      why = FinishReason::context_full;
    }
  }
  if (why && !s.stop.stopped()) {
    e.text += s.stop.push(s.req.decoder->flush());
    e.text += s.stop.flush();
    if (s.stop.stopped()) why = FinishReason::stop_string;
  }
  s.stream->push(std::move(e));
  s.last = id;
  if (why) finish(s, *why);
}

}  // namespace slm::runtime
