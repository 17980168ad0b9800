// quant_report: chunked prefill of both models, log-softmax per position, KL divergence and perplexity.
#include "model/quant_report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace slm::model {
namespace {

// log-softmax of one row of logits, in double.
void log_softmax(std::span<const float> x, std::vector<double>& out) {
  out.resize(x.size());
  double mx = -INFINITY;
  for (float v : x) mx = std::max(mx, double(v));
  double s = 0;
  for (float v : x) s += std::exp(double(v) - mx);
  const double lse = mx + std::log(s);
  for (size_t i = 0; i < x.size(); ++i) out[i] = double(x[i]) - lse;
}

size_t argmax(std::span<const double> x) { return size_t(std::max_element(x.begin(), x.end()) - x.begin()); }

double quantile(std::vector<double> v, double q) {  // nearest rank on a sorted copy
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(std::ceil(q * double(v.size()))) - (q > 0 ? 1 : 0));
  return v[i];
}

}  // namespace

nlohmann::json QuantReport::to_json() const {
  return {{"n_positions", n_positions}, {"ppl_base", ppl_base},    {"ppl_quant", ppl_quant},
          {"kld_mean", kld_mean},       {"kld_median", kld_median}, {"kld_p99", kld_p99},
          {"kld_max", kld_max},         {"top1_agreement", top1_agreement}};
}

QuantReport quant_report(const Model& base, const Model& quant, std::span<const int32_t> tokens,
                         const QuantReportOptions& opt) {
  if (base.n_vocab() != quant.n_vocab())
    fail("[quant-report] vocabularies differ: base {} tokens, quantised {}", base.n_vocab(), quant.n_vocab());
  if (tokens.size() < 2) fail("[quant-report] need at least 2 tokens, got {}", tokens.size());
  const int n_ctx = std::max(2, std::min({opt.n_ctx, base.n_ctx(), quant.n_ctx()}));
  const size_t nv = size_t(base.n_vocab());
  std::vector<double> kld, lb, lq;
  double nll_b = 0, nll_q = 0;
  int64_t agree = 0;
  int chunks = 0;
  for (size_t b = 0; b + 1 < tokens.size(); b += size_t(n_ctx)) {
    if (opt.max_chunks > 0 && chunks == opt.max_chunks) break;
    ++chunks;
    const size_t n = std::min(size_t(n_ctx), tokens.size() - b);
    if (n < 2) break;
    const auto chunk = tokens.subspan(b, n);
    KvCache kb = base.make_cache({.n_seq = 1, .n_ctx = n_ctx, .type = KvType::f32});
    KvCache kq = quant.make_cache({.n_seq = 1, .n_ctx = n_ctx, .type = KvType::f32});
    const std::vector<float> ob = base.prefill(chunk, kb, 0, true), oq = quant.prefill(chunk, kq, 0, true);
    for (size_t i = 0; i + 1 < n; ++i) {
      log_softmax(std::span(ob).subspan(i * nv, nv), lb);
      log_softmax(std::span(oq).subspan(i * nv, nv), lq);
      double d = 0;
      for (size_t v = 0; v < nv; ++v) d += std::exp(lb[v]) * (lb[v] - lq[v]);
      kld.push_back(std::max(d, 0.0));
      const size_t next = size_t(chunk[i + 1]);
      nll_b -= lb[next];
      nll_q -= lq[next];
      agree += argmax(lb) == argmax(lq) ? 1 : 0;
    }
  }
  QuantReport r;
  r.n_positions = int64_t(kld.size());
  const double np = double(std::max<int64_t>(r.n_positions, 1));
  r.ppl_base = std::exp(nll_b / np);
  r.ppl_quant = std::exp(nll_q / np);
  for (double d : kld) r.kld_mean += d / np;
  r.kld_median = quantile(kld, 0.5);
  r.kld_p99 = quantile(kld, 0.99);
  r.kld_max = *std::max_element(kld.begin(), kld.end());
  r.top1_agreement = double(agree) / np;
  return r;
}

}  // namespace slm::model
