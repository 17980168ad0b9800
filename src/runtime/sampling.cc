// Sampling steps, the default chain and the per-sequence Sampler.
#include "runtime/sampling.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <variant>

#include "core/error.h"
#include "kernels/kernels.h"

namespace slm::runtime {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// The candidate holding `id`, or null. O(1) while the list is still the full vocabulary in id order.
Candidate* find(Candidates& c, int32_t id) {
  if (id >= 0 && size_t(id) < c.items.size() && c.items[size_t(id)].id == id) return &c.items[size_t(id)];
  for (Candidate& x : c.items) {
    if (x.id == id) return &x;
  }
  return nullptr;
}

}  // namespace

Candidates Candidates::from_logits(std::span<const float> logits) {
  Candidates c;
  c.assign(logits);
  return c;
}

void Candidates::assign(std::span<const float> logits) {
  items.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    items[i] = {int32_t(i), std::isnan(l) ? kNegInf : l, 0.0f};
  }
  sorted = false;
}

void Candidates::sort() {
  if (sorted) return;
  std::sort(items.begin(), items.end(), before);
  sorted = true;
}

void Candidates::softmax() {
  sort();
  if (items.empty()) return;
  const double max = items[0].logit;
  if (max == double(kNegInf)) {
    for (Candidate& x : items) x.p = 0.0f;
    return;
  }
  double sum = 0.0;
  std::vector<double> e(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    e[i] = std::exp(double(items[i].logit) - max);
    sum += e[i];
  }
  for (size_t i = 0; i < items.size(); ++i) items[i].p = float(e[i] / sum);
}

std::span<const int32_t> TokenHistory::recent() const {
  if (window_ < 0 || tokens_.size() <= size_t(window_)) return tokens_;
  return std::span<const int32_t>(tokens_).last(size_t(window_));
}

void TokenHistory::push(int32_t token) {
  if (window_ == 0) return;
  tokens_.push_back(token);
  if (window_ > 0 && tokens_.size() >= 2 * size_t(window_) + 64) {
    tokens_.erase(tokens_.begin(), tokens_.end() - window_);
  }
}

namespace {
void check_logit_bias(const LogitBias& b) {
  if (b.id < 0) fail("[sampling] logit bias for token {}: ids start at 0", b.id);
  if (std::isnan(b.bias)) fail("[sampling] logit bias for token {} is NaN", b.id);
}
}  // namespace

void apply_logit_bias(Candidates& c, std::span<const LogitBias> bias) {
  for (const LogitBias& b : bias) {
    check_logit_bias(b);
    Candidate* x = find(c, b.id);
    if (!x) {
      if (!c.sorted && size_t(b.id) >= c.items.size()) {
        fail("[sampling] logit bias for token {}: out of range (vocabulary of {})", b.id, c.items.size());
      }
      continue;  // already filtered out
    }
    x->logit += b.bias;
  }
  c.sorted = false;
}

void apply_penalties(Candidates& c, std::span<const int32_t> recent, float repeat, float presence,
                     float frequency) {
  if (recent.empty() || (repeat == 1.0f && presence == 0.0f && frequency == 0.0f)) return;
  std::map<int32_t, int> counts;  // ordered so that the walk is the same on every platform
  for (int32_t t : recent) ++counts[t];
  for (const auto& [id, n] : counts) {
    Candidate* x = find(c, id);
    if (!x) continue;
    x->logit = x->logit > 0.0f ? x->logit / repeat : x->logit * repeat;
    x->logit -= float(n) * frequency + presence;
  }
  c.sorted = false;
}

void apply_top_k(Candidates& c, int k) {
  if (k <= 0 || size_t(k) >= c.items.size()) return;
  if (!c.sorted) {
    std::partial_sort(c.items.begin(), c.items.begin() + k, c.items.end(), before);
    c.sorted = true;
  }
  c.items.resize(size_t(k));
}

namespace {

// top-p over an unsorted list: sorts only as long a prefix as the mass needs (256, then x4), which for
// real distributions is a tiny part of the vocabulary. Same result as sorting everything.
bool top_p_prefix(Candidates& c, float p, size_t min_keep) {
  const size_t n = c.items.size();
  double max = double(kNegInf);
  for (const Candidate& x : c.items) max = std::max(max, double(x.logit));
  if (max == double(kNegInf)) return false;
  double sum = 0.0;
  for (const Candidate& x : c.items) sum += std::exp(double(x.logit) - max);
  for (size_t k = std::min(n, size_t(256));; k = std::min(n, k * 4)) {
    std::partial_sort(c.items.begin(), c.items.begin() + ptrdiff_t(k), c.items.end(), before);
    double mass = 0.0;
    for (size_t i = 0; i < k; ++i) {
      Candidate& x = c.items[i];
      x.p = float(std::exp(double(x.logit) - max) / sum);
      mass += x.p;
      if (mass >= double(p) && i + 1 >= min_keep) {
        c.items.resize(i + 1);
        c.sorted = true;
        return true;
      }
    }
    if (k == n) break;
  }
  c.sorted = true;  // everything is sorted and has p: the whole list stays
  return true;
}

}  // namespace

void apply_top_p(Candidates& c, float p, size_t min_keep) {
  if (p >= 1.0f || c.items.empty()) return;
  if (!c.sorted && c.items.size() > 1024 && top_p_prefix(c, p, min_keep)) return;
  c.softmax();
  double mass = 0.0;
  for (size_t i = 0; i < c.items.size(); ++i) {
    mass += c.items[i].p;
    if (mass >= double(p) && i + 1 >= min_keep) {
      c.items.resize(i + 1);
      return;
    }
  }
}

void apply_min_p(Candidates& c, float min_p, size_t min_keep) {
  if (min_p <= 0.0f || c.items.empty()) return;
  c.sort();
  const double max = c.items[0].logit;
  if (max == double(kNegInf)) return;
  // p_i >= min_p * p_max  <=>  logit_i - logit_max >= log(min_p): no softmax needed.
  const double floor = std::log(double(min_p));
  size_t keep = 0;
  while (keep < c.items.size() && (keep < min_keep || double(c.items[keep].logit) - max >= floor)) ++keep;
  c.items.resize(keep);
}

void apply_temperature(Candidates& c, float t) {
  SLM_CHECK(t > 0.0f, "temperature {}", t);
  for (Candidate& x : c.items) x.logit /= t;  // order is kept
}

int32_t pick_greedy(const Candidates& c) {
  SLM_CHECK(!c.items.empty(), "no candidates left to pick from");
  if (c.sorted) return c.items[0].id;
  const Candidate* best = &c.items[0];
  for (const Candidate& x : c.items) {
    if (before(x, *best)) best = &x;
  }
  return best->id;
}

int32_t pick_random(Candidates& c, Rng& rng) {
  SLM_CHECK(!c.items.empty(), "no candidates left to pick from");
  c.softmax();
  double total = 0.0;
  for (const Candidate& x : c.items) total += x.p;
  if (!(total > 0.0)) return c.items[0].id;  // everything banned: the lowest id of the best
  const double u = rng.uniform_double() * total;
  double mass = 0.0;
  for (const Candidate& x : c.items) {
    mass += x.p;
    if (u < mass) return x.id;
  }
  for (size_t i = c.items.size(); i-- > 0;) {  // rounding left u just past the end
    if (c.items[i].p > 0.0f) return c.items[i].id;
  }
  return c.items[0].id;
}

void apply_step(const SamplerStep& step, Candidates& c, const TokenHistory& history) {
  struct Visitor {
    Candidates& c;
    const TokenHistory& h;
    void operator()(const LogitBiasStep& s) { apply_logit_bias(c, s.bias); }
    void operator()(const PenaltyStep& s) { apply_penalties(c, h.recent(), s.repeat, s.presence, s.frequency); }
    void operator()(const TopKStep& s) { apply_top_k(c, s.k); }
    void operator()(const TopPStep& s) { apply_top_p(c, s.p); }
    void operator()(const MinPStep& s) { apply_min_p(c, s.min_p); }
    void operator()(const TemperatureStep& s) { apply_temperature(c, s.t); }
  };
  std::visit(Visitor{c, history}, step);
}

std::string step_name(const SamplerStep& step) {
  struct Visitor {
    std::string operator()(const LogitBiasStep& s) { return fmt::format("logit-bias({})", s.bias.size()); }
    std::string operator()(const PenaltyStep& s) {
      return fmt::format("penalties(repeat={}, presence={}, frequency={})", s.repeat, s.presence, s.frequency);
    }
    std::string operator()(const TopKStep& s) { return fmt::format("top-k({})", s.k); }
    std::string operator()(const TopPStep& s) { return fmt::format("top-p({})", s.p); }
    std::string operator()(const MinPStep& s) { return fmt::format("min-p({})", s.min_p); }
    std::string operator()(const TemperatureStep& s) { return fmt::format("temperature({})", s.t); }
  };
  return std::visit(Visitor{}, step);
}

SamplingParams greedy_params() {
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

namespace {

void validate(const SamplingParams& p) {
  if (std::isnan(p.temperature)) fail("[sampling] temperature is NaN");
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) fail("[sampling] top-p {} is outside (0, 1]", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("[sampling] min-p {} is outside [0, 1]", p.min_p);
  if (!(p.repeat_penalty > 0.0f) || std::isinf(p.repeat_penalty)) {
    fail("[sampling] repeat penalty {} must be a positive number", p.repeat_penalty);
  }
  if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty)) {
    fail("[sampling] presence and frequency penalties must be finite");
  }
}

}  // namespace

std::vector<SamplerStep> default_chain(const SamplingParams& p) {
  validate(p);
  std::vector<SamplerStep> chain;
  if (!p.logit_bias.empty()) chain.push_back(LogitBiasStep{p.logit_bias});
  if (p.penalty_last_n != 0 &&
      (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)) {
    chain.push_back(PenaltyStep{p.repeat_penalty, p.presence_penalty, p.frequency_penalty});
  }
  if (p.temperature <= 0.0f) return chain;
  if (p.top_k > 0) chain.push_back(TopKStep{p.top_k});
  if (p.top_p < 1.0f) chain.push_back(TopPStep{p.top_p});
  if (p.min_p > 0.0f) chain.push_back(MinPStep{p.min_p});
  if (p.temperature != 1.0f) chain.push_back(TemperatureStep{p.temperature});
  return chain;
}

float logprob_of(std::span<const float> logits, int32_t id) {
  SLM_CHECK(id >= 0 && size_t(id) < logits.size(), "id {} vocab {}", id, logits.size());
  double max = -std::numeric_limits<double>::infinity();
  for (float l : logits) {
    if (!std::isnan(l)) max = std::max(max, double(l));
  }
  if (std::isinf(max) && max < 0) return kNegInf;
  double sum = 0.0;
  for (float l : logits) {
    if (!std::isnan(l)) sum += std::exp(double(l) - max);
  }
  const float l = logits[size_t(id)];
  if (std::isnan(l)) return kNegInf;
  return float(double(l) - max - std::log(sum));
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n) {
  if (n <= 0 || logits.empty()) return {};
  Candidates c = Candidates::from_logits(logits);
  const size_t k = std::min(size_t(n), c.items.size());
  std::partial_sort(c.items.begin(), c.items.begin() + ptrdiff_t(k), c.items.end(), before);
  const double max = c.items[0].logit;
  double sum = 0.0;
  for (float l : logits) {
    if (!std::isnan(l)) sum += std::exp(double(l) - max);
  }
  std::vector<TokenLogprob> out(k);
  for (size_t i = 0; i < k; ++i) {
    const double l = c.items[i].logit;
    out[i] = {c.items[i].id, std::isinf(max) ? kNegInf : float(l - max - std::log(sum))};
  }
  return out;
}

Sampler::Sampler(const SamplingParams& p)
    : Sampler(default_chain(p), p.temperature <= 0.0f, p.penalty_last_n, p.seed) {}

Sampler::Sampler(std::vector<SamplerStep> chain, bool greedy, int penalty_last_n, uint64_t seed)
    : chain_(std::move(chain)), greedy_(greedy), seed_(seed), history_(penalty_last_n), rng_(seed) {
  for (const SamplerStep& s : chain_) {
    if (const auto* t = std::get_if<TemperatureStep>(&s); t && !(t->t > 0.0f)) {
      fail("[sampling] temperature step needs t > 0, got {}", t->t);
    }
  }
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) fail("[sampling] empty logits row");
  const kernels::CpuKernels& k = kernels::cpu_kernels();
  if (greedy_ && chain_.empty()) {  // plain argmax, the lowest id among equals; NaN never wins
    const int64_t a = k.argmax(logits);
    if (a > 0 || logits[0] > -std::numeric_limits<float>::infinity()) return int32_t(a);
    size_t best = 0;  // nothing above -inf: the first that is not NaN
    while (best + 1 < logits.size() && std::isnan(logits[best])) ++best;
    for (size_t i = best + 1; i < logits.size(); ++i) {
      if (logits[i] > logits[best]) best = i;
    }
    return int32_t(best);
  }
  if (greedy_bias_only()) {  // sample_row on a copy
    biased_.assign(logits.begin(), logits.end());
    return sample_row(biased_);
  }
  work_.assign(logits);
  for (const SamplerStep& s : chain_) apply_step(s, work_, history_);
  return greedy_ ? pick_greedy(work_) : pick_random(work_, rng_);
}

bool Sampler::greedy_bias_only() const {
  return greedy_ && chain_.size() == 1 && std::holds_alternative<LogitBiasStep>(chain_[0]);
}

int32_t Sampler::sample_row(std::span<float> logits) {
  if (logits.empty() || !greedy_bias_only()) return sample(logits);
  // Greedy classification with banned/boosted ids (the server's common case): the argmax of the biased row
  // directly, same order as pick_greedy (NaN as -inf, the lowest id among equals). The row is biased in
  // place (a NaN stays NaN, which argmax counts as -inf), then every entry is put back.
  const std::vector<LogitBias>& bias = std::get<LogitBiasStep>(chain_[0]).bias;
  for (const LogitBias& b : bias) {
    check_logit_bias(b);
    if (size_t(b.id) >= logits.size())
      fail("[sampling] logit bias for token {}: out of range (vocabulary of {})", b.id, logits.size());
  }
  saved_.clear();
  for (const LogitBias& b : bias) {
    saved_.push_back(logits[size_t(b.id)]);
    logits[size_t(b.id)] += b.bias;
  }
  const int64_t id = kernels::cpu_kernels().argmax(logits);
  for (size_t i = bias.size(); i-- > 0;) logits[size_t(bias[i].id)] = saved_[i];  // reverse: repeated ids too
  return int32_t(id);
}

Sampled Sampler::sample_with_logprobs(std::span<const float> logits, int n_top) {
  Sampled s;
  s.id = sample(logits);
  s.logprob = logprob_of(logits, s.id);
  s.top = top_logprobs(logits, n_top);
  return s;
}

void Sampler::reset() {
  history_.clear();
  rng_ = Rng(seed_);
}

}  // namespace slm::runtime
