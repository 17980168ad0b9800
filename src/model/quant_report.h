// How far a quantised model's predictions are from its base model's on the same tokens: perplexity of
// both, KL divergence of the next-token distributions (base || quantised), top-1 agreement.
#pragma once

#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "model/model.h"

namespace slm::model {

struct QuantReportOptions {
  int n_ctx = 256;      // tokens per chunk; each chunk is a fresh sequence
  int max_chunks = 0;   // 0: every chunk
};

struct QuantReport {
  int64_t n_positions = 0;       // predictions compared (every position but the last of each chunk)
  double ppl_base = 0, ppl_quant = 0;
  double kld_mean = 0, kld_median = 0, kld_p99 = 0, kld_max = 0;
  double top1_agreement = 0;     // fraction of positions where both argmaxes agree
  nlohmann::json to_json() const;
};

// Runs both models over `tokens` (same vocabulary required) and compares every next-token distribution.
// Throws slm::Error when the vocabularies differ in size or fewer than 2 tokens are given.
QuantReport quant_report(const Model& base, const Model& quant, std::span<const int32_t> tokens,
                         const QuantReportOptions& opt = {});

}  // namespace slm::model
