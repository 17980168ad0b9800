// Server metrics in the Prometheus text exposition format: requests by endpoint and status, token
// counts, time-to-first-token and inter-token latency histograms, plus the scheduler's gauges.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/scheduler.h"

namespace slm::serve {

// A fixed-bucket histogram (seconds). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double x);
  // Appends "name_bucket{le=...} n", "name_sum", "name_count" lines.
  void render(const std::string& name, const std::string& help, std::string& out) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // non-cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t n_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& endpoint, int status);
  void rejected() { ++rejected_; }  // 429s from admission control
  Histogram ttft, itl, e2e;
  // The whole text page, scheduler gauges included.
  std::string render(const runtime::SchedulerStats& s) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace slm::serve
