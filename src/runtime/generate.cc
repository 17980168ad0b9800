// The generation loop: prefix reuse, chunked prefill across sequences, then one decode row per live sequence.
#include "runtime/generate.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "runtime/stop.h"

namespace slm::runtime {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string IdDecoder::push(int32_t id) { return fmt::format("{} ", id); }

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::length: return "length";
    case FinishReason::stop_token: return "stop_token";
    case FinishReason::stop_string: return "stop_string";
    case FinishReason::context_full: return "context_full";
    case FinishReason::cancelled: return "cancelled";
  }
  return "?";
}

struct Generator::Slot {
  Slot(int i, const GenerationRequest& r, std::unique_ptr<PieceDecoder> d)
      : index(i), req(&r), sampler(r.sampling), stop(r.stop_strings), decoder(std::move(d)) {}
  int index = 0;  // request index == cache sequence
  const GenerationRequest* req = nullptr;
  Sampler sampler;
  StopMatcher stop;
  std::unique_ptr<PieceDecoder> decoder;
  GenerationResult result;
  std::vector<int32_t> pending;  // prompt tokens not yet in the cache
  std::vector<float> logits;     // the last prompt token's logits, kept until prefill ends
  int32_t last = -1;             // the last sampled id, fed by the next decode step
  int n_sampled = 0;
  bool done = false;
};

Generator::Generator(const model::Model& model, GeneratorOptions opt)
    : model_(model),
      opt_(opt),
      kv_(model.make_cache({.n_seq = std::max(1, opt.n_seq), .n_ctx = opt.n_ctx, .type = opt.kv_type})),
      cached_(size_t(kv_.n_seq())) {
  if (opt_.prefill_chunk < 1) fail("[generate] prefill chunk must be at least 1, got {}", opt_.prefill_chunk);
}

void Generator::clear() {
  kv_.clear_all();
  for (auto& c : cached_) c.clear();
}

GenerationResult Generator::generate(const GenerationRequest& request, const DecoderFactory& make_decoder,
                                     const StreamFn& on_piece) {
  return std::move(generate(std::span(&request, 1), make_decoder, on_piece)[0]);
}

std::vector<GenerationResult> Generator::generate(std::span<const GenerationRequest> requests,
                                                  const DecoderFactory& make_decoder, const StreamFn& on_piece) {
  if (requests.size() > size_t(kv_.n_seq())) {
    fail("[generate] {} requests but the generator holds {} sequences", requests.size(), kv_.n_seq());
  }
  timings_ = {};
  std::vector<Slot> slots;
  slots.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const GenerationRequest& r = requests[i];
    if (r.prompt.empty()) fail("[generate] request {}: empty prompt (start from BOS at least)", i);
    if (r.prompt.size() > size_t(kv_.n_ctx())) {
      fail("[generate] request {}: prompt of {} tokens does not fit the context of {}", i, r.prompt.size(),
           kv_.n_ctx());
    }
    for (int32_t t : r.prompt) {
      if (t < 0 || t >= model_.n_vocab()) fail("[generate] request {}: token id {} out of range", i, t);
    }
    Slot s(int(i), r, make_decoder ? make_decoder() : std::make_unique<IdDecoder>());
    // Keep the longest cached prefix, but always recompute at least the last prompt token for its logits.
    std::vector<int32_t>& have = cached_[i];
    size_t n = std::mismatch(have.begin(), have.end(), r.prompt.begin(), r.prompt.end()).first - have.begin();
    n = std::min(n, r.prompt.size() - 1);
    kv_.truncate(int(i), int(n));
    have.resize(n);
    s.pending.assign(r.prompt.begin() + ptrdiff_t(n), r.prompt.end());
    s.result.n_prompt = int(r.prompt.size());
    s.result.n_cached = int(n);
    for (int32_t t : r.prompt) s.sampler.accept(t);
    slots.push_back(std::move(s));
  }

  const auto t0 = std::chrono::steady_clock::now();
  prefill(slots);
  timings_.prompt_ms = ms_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  for (Slot& s : slots) {
    if (s.req->max_tokens == 0) {
      s.done = true;
      continue;
    }
    take(s, s.logits, on_piece);
    s.logits = {};
  }
  decode(slots, on_piece);
  timings_.gen_ms = ms_since(t1);

  std::vector<GenerationResult> out;
  for (Slot& s : slots) out.push_back(std::move(s.result));
  return out;
}

// Packs the pending prompt tokens of every slot into batches of at most prefill_chunk rows; logits only
// for each slot's last prompt token.
void Generator::prefill(std::vector<Slot>& slots) {
  const size_t n_vocab = size_t(model_.n_vocab());
  model::Batch batch;
  std::vector<Slot*> logit_rows;  // the slot of each logits row, in batch order
  std::vector<float> logits;
  auto run = [&] {
    if (batch.size() == 0) return;
    logits.resize(batch.n_logits() * n_vocab);
    model_.forward(batch, kv_, logits);
    for (size_t r = 0; r < logit_rows.size(); ++r) {
      logit_rows[r]->logits.assign(logits.begin() + ptrdiff_t(r * n_vocab),
                                   logits.begin() + ptrdiff_t((r + 1) * n_vocab));
    }
    for (size_t r = 0; r < batch.size(); ++r) cached_[size_t(batch.seq_ids[r])].push_back(batch.tokens[r]);
    timings_.n_prompt += int(batch.size());
    batch.clear();
    logit_rows.clear();
  };
  for (Slot& s : slots) {
    const int seq = s.index;
    const int base = kv_.seq_len(seq);  // the slot's rows are contiguous, so position = base + j
    for (size_t j = 0; j < s.pending.size(); ++j) {
      const bool last = j + 1 == s.pending.size();
      batch.add(s.pending[j], base + int(j), seq, last);
      if (last) logit_rows.push_back(&s);
      if (batch.size() >= size_t(opt_.prefill_chunk)) run();
    }
    s.pending.clear();
  }
  run();
}

void Generator::decode(std::vector<Slot>& slots, const StreamFn& on_piece) {
  const size_t n_vocab = size_t(model_.n_vocab());
  model::Batch batch;
  std::vector<Slot*> rows;
  std::vector<float> logits;
  for (;;) {
    batch.clear();
    rows.clear();
    for (Slot& s : slots) {
      if (s.done) continue;
      batch.add(s.last, kv_.seq_len(s.index), s.index, true);
      rows.push_back(&s);
    }
    if (rows.empty()) return;
    logits.resize(rows.size() * n_vocab);
    model_.forward(batch, kv_, logits);
    for (size_t r = 0; r < rows.size(); ++r) {
      cached_[size_t(rows[r]->index)].push_back(batch.tokens[r]);
      take(*rows[r], std::span<const float>(logits).subspan(r * n_vocab, n_vocab), on_piece);
    }
  }
}

// Samples one id for the slot from its logits, streams its text, and decides whether the slot ends.
// Returns whether the slot goes on.
bool Generator::take(Slot& s, std::span<const float> logits, const StreamFn& on_piece) {
  const GenerationRequest& r = *s.req;
  Sampled sampled;
  if (r.n_logprobs >= 0) {
    sampled = s.sampler.sample_with_logprobs(logits, r.n_logprobs);
    s.result.logprobs.push_back(sampled);
  } else {
    sampled.id = s.sampler.sample(logits);
  }
  const int32_t id = sampled.id;
  s.sampler.accept(id);
  ++s.n_sampled;
  ++timings_.n_gen;

  std::string text;
  const bool is_stop_token = std::find(r.stop_tokens.begin(), r.stop_tokens.end(), id) != r.stop_tokens.end();
  if (is_stop_token) {
    s.done = true;
    s.result.finish = FinishReason::stop_token;
    s.result.stop_token = id;
  } else {
    s.result.tokens.push_back(id);
    text = s.stop.push(s.decoder->push(id));
    if (s.stop.stopped()) {
      s.done = true;
      s.result.finish = FinishReason::stop_string;
      s.result.stop_string = std::string(s.stop.matched());
    } else if (r.max_tokens >= 0 && s.n_sampled >= r.max_tokens) {
      s.done = true;
      s.result.finish = FinishReason::length;
    } else if (kv_.seq_len(s.index) >= kv_.n_ctx()) {
      s.done = true;  // no room to feed the id just sampled
      s.result.finish = FinishReason::context_full;
    }
  }
  if (s.done && !s.stop.stopped()) {
    text += s.stop.push(s.decoder->flush());
    text += s.stop.flush();
    if (s.stop.stopped()) {
      s.result.finish = FinishReason::stop_string;
      s.result.stop_string = std::string(s.stop.matched());
    }
  }
  s.result.text += text;
  if (on_piece) {
    const StreamEvent ev{s.index, id, text, r.n_logprobs >= 0 ? &s.result.logprobs.back() : nullptr};
    if (!on_piece(ev) && !s.done) {
      s.done = true;
      s.result.finish = FinishReason::cancelled;
    }
  }
  s.last = id;
  return !s.done;
}

}  // namespace slm::runtime
