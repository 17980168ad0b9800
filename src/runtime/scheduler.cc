// Continuous batching scheduler: admission, prefix reuse, the mixed prefill/decode step and sampling.
#include "runtime/scheduler.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

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
      kv_(model.make_cache({.n_seq = std::max(1, opt.max_seqs), .n_ctx = n_ctx_, .type = opt.kv_type})) {
  if (opt_.max_seqs < 1) fail("[scheduler] max_seqs must be at least 1, got {}", opt_.max_seqs);
  if (opt_.max_queue < 0) fail("[scheduler] max_queue must not be negative, got {}", opt_.max_queue);
  if (opt_.step_tokens < opt_.max_seqs)
    fail("[scheduler] step_tokens ({}) must be at least max_seqs ({})", opt_.step_tokens, opt_.max_seqs);
  if (opt_.kv_block < 1) fail("[scheduler] kv_block must be at least 1");
  held_.resize(size_t(opt_.max_seqs));
  last_used_.assign(size_t(opt_.max_seqs), 0);
  slots_.resize(size_t(opt_.max_seqs));
  stats_.kv_blocks_total = int64_t(opt_.max_seqs) * ((n_ctx_ + opt_.kv_block - 1) / opt_.kv_block);
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
    last_used_[size_t(s.slot)] = step_no_;
    slots_[size_t(s.slot)].reset();  // destroys s
  }
}

// Picks the KV rows the new sequence can start from: its own slot's rows up to the common prefix, or a
// copy of a longer common prefix another slot holds. At least the last prompt token is always computed.
size_t Scheduler::reuse_prefix(Seq& s) {
  const std::vector<int32_t>& p = s.req.prompt;
  auto common = [&](const std::vector<int32_t>& h) {
    return size_t(std::mismatch(h.begin(), h.end(), p.begin(), p.end()).first - h.begin());
  };
  const int slot = s.slot;
  size_t own = opt_.prefix_cache ? std::min(common(held_[size_t(slot)]), p.size() - 1) : 0;
  kv_.truncate(slot, int(own));
  held_[size_t(slot)].resize(own);
  if (!opt_.prefix_cache) return 0;
  int src = -1;
  size_t best = own;
  for (int j = 0; j < opt_.max_seqs; ++j) {
    if (j == slot) continue;
    const size_t c = std::min(common(held_[size_t(j)]), p.size() - 1);
    if (c > best) best = c, src = j;
  }
  if (src >= 0) {  // copy rows [own, best) from the other slot: cheaper than recomputing them
    const size_t row = size_t(kv_.kv_dim()) * (kv_.type() == model::KvType::f16 ? 2 : 4);
    for (int l = 0; l < kv_.n_layer(); ++l) {
      for (size_t pos = own; pos < best; ++pos) {
        std::memcpy(kv_.k_row(l, slot, int(pos)), kv_.k_row(l, src, int(pos)), row);
        std::memcpy(kv_.v_row(l, slot, int(pos)), kv_.v_row(l, src, int(pos)), row);
      }
    }
    kv_.set_seq_len(slot, int(best));
    held_[size_t(slot)].assign(p.begin(), p.begin() + ptrdiff_t(best));
  }
  return best;
}

// Moves queued sequences into free slots. Caller holds mu_.
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
    // A free slot: the one whose rows share the longest prefix with the prompt, else the least recently used.
    int pick = -1;
    size_t pick_common = 0;
    for (int j = 0; j < opt_.max_seqs; ++j) {
      if (slots_[size_t(j)]) continue;
      const std::vector<int32_t>& h = held_[size_t(j)];
      const size_t c = size_t(std::mismatch(h.begin(), h.end(), front.req.prompt.begin(), front.req.prompt.end()).first -
                              h.begin());
      if (pick < 0 || c > pick_common || (c == pick_common && last_used_[size_t(j)] < last_used_[size_t(pick)]))
        pick = j, pick_common = c;
    }
    if (pick < 0) return;
    std::unique_ptr<Seq> s = std::move(queue_.front());
    queue_.pop_front();
    s->slot = pick;
    const size_t cached = reuse_prefix(*s);
    s->fed = cached;
    s->n_cached = int(cached);
    ++stats_.prefix_lookups;
    if (cached > 0) ++stats_.prefix_hits;
    stats_.prompt_tokens += int64_t(s->req.prompt.size());
    stats_.prompt_tokens_cached += int64_t(cached);
    slots_[size_t(pick)] = std::move(s);
  }
}

void Scheduler::update_gauges() {
  int64_t active = 0, blocks = 0;
  for (int j = 0; j < opt_.max_seqs; ++j) {
    if (!slots_[size_t(j)]) continue;
    ++active;
    blocks += (kv_.seq_len(j) + opt_.kv_block - 1) / opt_.kv_block;
  }
  stats_.active = active;
  stats_.kv_blocks_used = blocks;
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
    model_.forward(batch, kv_, logits_);
  } catch (const Error& e) {
    for (auto& s : slots_) {
      if (s) finish(*s, FinishReason::cancelled, false, e.what());
    }
    for (size_t j = 0; j < held_.size(); ++j) held_[j].resize(size_t(kv_.seq_len(int(j))));
    return true;
  }
  ++stats_.steps;
  stats_.step_rows += int64_t(batch.size());
  for (size_t r = 0; r < batch.size(); ++r) held_[size_t(batch.seq_ids[r])].push_back(batch.tokens[r]);
  for (size_t r = 0; r < ordered.size(); ++r) take(*ordered[r], std::span(logits_).subspan(r * n_vocab, n_vocab));
  return true;
}

// Samples one id for the sequence, streams its text, and ends the sequence when a stop condition holds.
void Scheduler::take(Seq& s, std::span<const float> row) {
  std::span<float> logits(const_cast<float*>(row.data()), row.size());  // our own buffer
  const SeqRequest& r = s.req;
  const auto t0 = Clock::now();
  if (s.cons) s.cons->mask_logits(logits);
  Sampled sampled;
  if (r.n_logprobs >= 0) {
    sampled = s.sampler.sample_with_logprobs(logits, r.n_logprobs);
  } else {
    sampled.id = s.sampler.sample(logits);
  }
  const int32_t id = sampled.id;
  bool cons_done = false;
  if (s.cons) {
    s.cons->advance(id);
    cons_done = s.cons->done();
    ++stats_.constrained_tokens;
    stats_.constraint_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  }
  s.sampler.accept(id);
  ++s.n_gen;
  ++stats_.generated_tokens;

  SeqEvent e;
  e.token = id;
  e.at = Clock::now();
  if (r.n_logprobs >= 0) e.logprobs = std::move(sampled);
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
