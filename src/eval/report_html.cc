// The self-contained HTML report: inline CSS and SVG only, so that it opens offline.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "eval/report.h"

namespace slm::eval {

namespace {

constexpr const char* kColors[] = {"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d"};
const char* color(size_t i) { return kColors[i % 8]; }

std::string svg_open(int w, int h, const std::string& title) {
  return fmt::format("<svg width='{0}' height='{1}' viewBox='0 0 {0} {1}' role='img'>"
                     "<title>{2}</title><rect width='{0}' height='{1}' fill='#fff'/>", w, h, html_escape(title));
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle", int size = 11) {
  return fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='{}' text-anchor='{}'>{}</text>", x, y, size, anchor, html_escape(s));
}

std::string confusion_svg(const CandidateReport& c, const std::vector<std::string>& labels) {
  const auto& m = c.classification->confusion;
  const size_t k = labels.size(), cols = k + 1;
  const int cell = 44, left = 110, top = 40;
  size_t mx = 1;
  for (const auto& row : m) for (size_t v : row) mx = std::max(mx, v);
  std::string s = svg_open(left + int(cols) * cell + 20, top + int(k) * cell + 40, "confusion matrix: " + c.name);
  s += text(left + cols * cell / 2.0, 14, "predicted", "middle", 12);
  for (size_t j = 0; j < cols; ++j) s += text(left + j * cell + cell / 2.0, top - 8, j < k ? labels[j] : "(none)");
  for (size_t i = 0; i < k; ++i) {
    s += text(left - 6, top + i * cell + cell / 2.0 + 4, labels[i], "end");
    for (size_t j = 0; j < cols; ++j) {
      const double a = double(m[i][j]) / double(mx);
      s += fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='rgba(76,120,168,{:.3f})' stroke='#ccc'/>",
                       left + int(j) * cell, top + int(i) * cell, cell, cell, 0.08 + 0.92 * a);
      s += fmt::format("<text x='{}' y='{}' font-size='12' text-anchor='middle' fill='{}'>{}</text>", left + int(j) * cell + cell / 2,
                       top + int(i) * cell + cell / 2 + 4, a > 0.6 ? "#fff" : "#000", m[i][j]);
    }
  }
  s += text(14, top + k * cell / 2.0, "true", "middle", 12);
  return s + "</svg>";
}

// Axes of a unit plot area at (x0, y0) size (w, h); returns the frame and ticks.
std::string axes(int x0, int y0, int w, int h, double xmax, double ymax, const std::string& xl, const std::string& yl) {
  std::string s = fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='#333'/>", x0, y0, w, h);
  for (int t = 0; t <= 4; ++t) {
    const double fx = x0 + w * t / 4.0, fy = y0 + h - h * t / 4.0;
    s += fmt::format("<line x1='{0:.1f}' y1='{1}' x2='{0:.1f}' y2='{2}' stroke='#333'/>", fx, y0 + h, y0 + h + 4);
    s += text(fx, y0 + h + 16, fmt::format("{:.3g}", xmax * t / 4.0));
    s += fmt::format("<line x1='{0}' y1='{1:.1f}' x2='{2}' y2='{1:.1f}' stroke='#333'/>", x0 - 4, fy, x0);
    s += text(x0 - 6, fy + 4, fmt::format("{:.3g}", ymax * t / 4.0), "end");
  }
  s += text(x0 + w / 2.0, y0 + h + 32, xl, "middle", 12);
  s += fmt::format("<text x='14' y='{:.1f}' font-size='12' text-anchor='middle' transform='rotate(-90 14 {:.1f})'>{}</text>",
                   y0 + h / 2.0, y0 + h / 2.0, html_escape(yl));
  return s;
}

std::string legend(const std::vector<std::string>& names, int x, int y) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    s += fmt::format("<rect x='{}' y='{}' width='10' height='10' fill='{}'/>", x, y + int(i) * 16, color(i));
    s += text(x + 14, y + int(i) * 16 + 9, names[i], "start", 11);
  }
  return s;
}

std::string reliability_svg(const EvalReport& r) {
  const int x0 = 50, y0 = 20, w = 300, h = 300;
  std::string s = svg_open(640, 370, "reliability diagram");
  s += axes(x0, y0, w, h, 1, 1, "confidence", "accuracy");
  s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#999' stroke-dasharray='4 3'/>", x0, y0 + h, x0 + w, y0);
  std::vector<std::string> names;
  size_t ci = 0;
  for (const CandidateReport& c : r.candidates) {
    if (!c.calibration) continue;
    std::string pts;
    for (const ReliabilityBin& b : c.calibration->bins) {
      if (!b.count) continue;
      const double x = x0 + w * b.confidence, y = y0 + h - h * b.accuracy;
      pts += fmt::format("{:.1f},{:.1f} ", x, y);
      s += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='{:.1f}' fill='{}' opacity='0.8'/>", x, y,
                       2.5 + std::sqrt(double(b.count)), color(ci));
    }
    s += fmt::format("<polyline points='{}' fill='none' stroke='{}' stroke-width='2'/>", pts, color(ci));
    names.push_back(fmt::format("{} (ECE {:.3f})", c.name, c.calibration->ece));
    ++ci;
  }
  return s + legend(names, x0 + w + 20, y0) + "</svg>";
}

std::string latency_svg(const EvalReport& r) {
  // Box-and-whisker rows: p50 box edge to p95, whisker to p99, dot at max, on a log10 scale.
  double lo = 1e9, hi = 1e-3;
  for (const CandidateReport& c : r.candidates)
    for (const Prediction& p : c.predictions) lo = std::min(lo, std::max(p.latency_ms, 1e-3)), hi = std::max(hi, p.latency_ms);
  if (lo > hi) lo = 1e-3, hi = 1;
  const double a = std::floor(std::log10(lo)), b = std::max(a + 1, std::ceil(std::log10(hi)));
  const int x0 = 250, w = 360, row = 34, y0 = 20;
  const int n = int(r.candidates.size());
  std::string s = svg_open(x0 + w + 30, y0 + n * row + 50, "latency distribution");
  auto X = [&](double ms) { return x0 + w * (std::log10(std::max(ms, 1e-3)) - a) / (b - a); };
  for (double d = a; d <= b; d += 1) {
    s += fmt::format("<line x1='{0:.1f}' y1='{1}' x2='{0:.1f}' y2='{2}' stroke='#ddd'/>", X(std::pow(10, d)), y0, y0 + n * row);
    s += text(X(std::pow(10, d)), y0 + n * row + 16, fmt::format("{:g} ms", std::pow(10, d)));
  }
  for (int i = 0; i < n; ++i) {
    const CandidateReport& c = r.candidates[size_t(i)];
    const double y = y0 + i * row + row / 2.0;
    s += text(x0 - 8, y + 4, c.name.size() > 38 ? c.name.substr(0, 37) + "~" : c.name, "end");
    if (c.predictions.empty()) continue;
    for (const Prediction& p : c.predictions)
      s += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='1.5' fill='{}' opacity='0.35'/>", X(p.latency_ms), y + 9, color(size_t(i)));
    const LatencyStats& l = c.latency;
    s += fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#333'/>", X(l.p50), y, X(l.p99), y);
    s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='12' fill='{}'/>", X(l.p50), y - 6,
                     std::max(1.0, X(l.p95) - X(l.p50)), color(size_t(i)));
    s += fmt::format("<line x1='{0:.1f}' y1='{1:.1f}' x2='{0:.1f}' y2='{2:.1f}' stroke='#000' stroke-width='2'/>", X(l.p50), y - 7, y + 7);
  }
  s += text(x0 + w / 2.0, y0 + n * row + 36, "box: p50 to p95, whisker to p99, dots: every request (log scale)");
  return s + "</svg>";
}

std::string cost_svg(const EvalReport& r) {
  const int x0 = 60, y0 = 20, w = 320, h = 240;
  double cmax = 0;
  for (const CandidateReport& c : r.candidates) cmax = std::max(cmax, c.cost_per_1k);
  cmax = cmax > 0 ? cmax * 1.1 : 1.0;
  const bool label = r.task.kind == OutputKind::label;
  std::string s = svg_open(680, 310, "accuracy against cost");
  s += axes(x0, y0, w, h, cmax, 1, "cost per 1,000 requests", label ? "accuracy" : "exact match");
  std::vector<std::string> names;
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const CandidateReport& c = r.candidates[i];
    if (!c.applicable) continue;
    const double acc = c.classification ? c.classification->accuracy : c.exact_match;
    s += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='6' fill='{}'/>", x0 + w * c.cost_per_1k / cmax, y0 + h - h * acc, color(i));
    names.push_back(fmt::format("{} ({:.3f}, ${:.4f})", c.name, acc, c.cost_per_1k));
  }
  return s + legend(names, x0 + w + 20, y0) + "</svg>";
}

std::string fmt3(double v) { return fmt::format("{:.3f}", v); }

}  // namespace

std::string html_escape(std::string_view in) {
  std::string o;
  for (char c : in) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '\'': o += "&#39;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string report_html(const EvalReport& r) {
  const bool label = r.task.kind == OutputKind::label;
  std::string h = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>slm eval: " + html_escape(r.task.name) +
                  "</title><style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
                  "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
                  ".pass{color:#2a7a2a}.fail{color:#b22}.verdict{font-size:1.2em;padding:10px;background:#f3f3f3;"
                  "border-left:4px solid #4c78a8}svg{margin:8px 16px 8px 0;vertical-align:top}</style></head><body>\n";
  h += fmt::format("<h1>Evaluation: {}</h1><p>Output kind <b>{}</b>; {} train rows, {} held-out rows", html_escape(r.task.name),
                   output_kind_name(r.task.kind), r.n_train, r.n_eval);
  if (r.contaminated) h += fmt::format("; <b>{}</b> held-out inputs are near-duplicates of train inputs", r.contaminated);
  h += ".</p>\n<p class='verdict' id='verdict'>Does this task need a language model? " + html_escape(r.verdict) + "</p>\n";
  h += "<h2>Candidates</h2><table id='summary'><tr><th>candidate</th><th>kind</th><th>";
  h += label ? "accuracy</th><th>macro-F1</th><th>ECE" : r.task.kind == OutputKind::json ? "exact match</th><th>field F1</th><th>JSON valid" : "exact match</th><th>-</th><th>-";
  h += "</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>tokens/s</th><th>$ / 1k requests</th><th>errors</th><th>quality bar</th></tr>\n";
  for (const CandidateReport& c : r.candidates) {
    if (!c.applicable) {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td colspan='10'>not applicable to {} output</td></tr>\n", html_escape(c.name), c.kind,
                       output_kind_name(r.task.kind));
      continue;
    }
    const double acc = c.classification ? c.classification->accuracy : c.exact_match;
    const double third = c.calibration ? c.calibration->ece : c.extraction ? c.extraction->validity : 0.0;
    std::string bar = c.meets_bar ? "<span class='pass'>pass</span>" : "<span class='fail'>fail</span>";
    for (const auto& f : c.bar_failures) bar += "<br>" + html_escape(f);
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.2f}</td>"
                     "<td>{:.1f}</td><td>{:.4f}</td><td>{}</td><td>{}</td></tr>\n",
                     html_escape(c.name), c.kind, fmt3(acc), fmt3(c.primary()), fmt3(third), c.latency.p50, c.latency.p95,
                     c.latency.p99, c.tokens_per_s, c.cost_per_1k, c.n_errors, bar);
  }
  h += "</table>\n";
  if (label) {
    h += "<h2>Per-class precision and recall</h2><table><tr><th>candidate</th><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n";
    for (const CandidateReport& c : r.candidates)
      if (c.classification)
        for (const ClassStats& s : c.classification->per_class)
          h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(c.name),
                           html_escape(s.label), fmt3(s.precision), fmt3(s.recall), fmt3(s.f1), s.support);
    h += "</table>\n<h2>Confusion matrices</h2><div>";
    for (const CandidateReport& c : r.candidates)
      if (c.classification) h += "<figure style='display:inline-block'>" + confusion_svg(c, r.task.labels) + "<figcaption>" + html_escape(c.name) + "</figcaption></figure>";
    h += "</div>\n<h2>Reliability diagram</h2>" + reliability_svg(r) + "\n";
  }
  if (r.task.kind == OutputKind::json) {
    h += "<h2>Per-field F1</h2><table><tr><th>candidate</th><th>field</th><th>precision</th><th>recall</th><th>F1</th></tr>\n";
    for (const CandidateReport& c : r.candidates)
      if (c.extraction)
        for (const auto& [f, k] : c.extraction->per_field)
          h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(c.name), html_escape(f),
                           fmt3(k.precision()), fmt3(k.recall()), fmt3(k.f1()));
    h += "</table>\n";
  }
  h += "<h2>Latency distribution</h2>" + latency_svg(r) + "\n<h2>Accuracy against cost</h2>" + cost_svg(r) + "\n";
  return h + "</body></html>\n";
}

}  // namespace slm::eval
