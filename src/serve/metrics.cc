// Prometheus text rendering of the server's counters, gauges and histograms.
#include "serve/metrics.h"

#include <fmt/format.h>

namespace slm::serve {

void Histogram::observe(double x) {
  size_t i = 0;
  while (i < bounds_.size() && x > bounds_[i]) ++i;
  std::lock_guard lk(mu_);
  ++counts_[i];
  sum_ += x;
  ++n_;
}

void Histogram::render(const std::string& name, const std::string& help, std::string& out) const {
  std::lock_guard lk(mu_);
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cum);
  }
  cum += counts_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cum, name, sum_, name, n_);
}

namespace {
std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
void gauge(std::string& out, const char* name, const char* type, const char* help, double v) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
}
}  // namespace

Metrics::Metrics() : ttft(latency_buckets()), itl(latency_buckets()), e2e(latency_buckets()) {}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard lk(mu_);
  ++requests_[{endpoint, status}];
}

std::string Metrics::render(const runtime::SchedulerStats& s) const {
  std::string out;
  out += "# HELP slm_requests_total HTTP requests by endpoint and status code\n# TYPE slm_requests_total counter\n";
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, n] : requests_)
      out += fmt::format("slm_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, n);
  }
  gauge(out, "slm_requests_rejected_total", "counter", "requests refused by admission control (429)",
        double(rejected_.load()));
  gauge(out, "slm_queue_depth", "gauge", "sequences waiting for a slot", double(s.queue_depth.load()));
  gauge(out, "slm_active_sequences", "gauge", "sequences being prefilled or decoded", double(s.active.load()));
  gauge(out, "slm_kv_blocks_used", "gauge", "KV blocks taken from the pool (sequences and prefix cache)",
        double(s.kv_blocks_used.load()));
  gauge(out, "slm_kv_blocks_total", "gauge", "KV blocks in the pool", double(s.kv_blocks_total.load()));
  gauge(out, "slm_kv_blocks_cached", "gauge", "KV blocks the prefix cache holds (shared or idle)",
        double(s.kv_blocks_cached.load()));
  gauge(out, "slm_prompt_tokens_total", "counter", "prompt tokens admitted", double(s.prompt_tokens.load()));
  gauge(out, "slm_prompt_tokens_cached_total", "counter", "prompt tokens served from the prefix cache",
        double(s.prompt_tokens_cached.load()));
  gauge(out, "slm_generation_tokens_total", "counter", "tokens generated", double(s.generated_tokens.load()));
  gauge(out, "slm_prefix_cache_lookups_total", "counter", "sequences admitted (prefix cache lookups)",
        double(s.prefix_lookups.load()));
  gauge(out, "slm_prefix_cache_hits_total", "counter", "sequences that reused cached prefix rows",
        double(s.prefix_hits.load()));
  const double lookups = double(s.prompt_tokens.load());
  gauge(out, "slm_prefix_cache_hit_rate", "gauge", "cached prompt tokens / prompt tokens",
        lookups > 0 ? double(s.prompt_tokens_cached.load()) / lookups : 0.0);
  gauge(out, "slm_scheduler_steps_total", "counter", "batched forward steps", double(s.steps.load()));
  gauge(out, "slm_scheduler_step_rows_total", "counter", "rows (tokens) run through forward steps",
        double(s.step_rows.load()));
  gauge(out, "slm_constrained_tokens_total", "counter", "tokens sampled under a structured-output constraint",
        double(s.constrained_tokens.load()));
  gauge(out, "slm_constraint_seconds_total", "counter", "time spent masking and advancing constraints",
        double(s.constraint_ns.load()) * 1e-9);
  ttft.render("slm_time_to_first_token_seconds", "time from request arrival to the first token", out);
  itl.render("slm_inter_token_latency_seconds", "time between consecutive tokens of a sequence", out);
  e2e.render("slm_request_duration_seconds", "time from arrival to the last token", out);
  return out;
}

}  // namespace slm::serve
