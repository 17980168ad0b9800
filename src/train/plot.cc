// Loss curves from metrics.jsonl as SVG.
#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

struct Series {
  const char* id;
  const char* label;
  const char* color;
  std::vector<std::pair<double, double>> pts;  // (step, value)
};

constexpr double kW = 720, kH = 400, kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;

std::string escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '&') r += "&amp;";
    else if (c == '<') r += "&lt;";
    else if (c == '>') r += "&gt;";
    else if (c == '"') r += "&quot;";
    else r += c;
  }
  return r;
}

}  // namespace

std::string loss_curves_svg(const std::string& metrics_jsonl, const std::string& title) {
  std::vector<Series> s = {{"train-loss", "train loss", "#1f77b4", {}},
                           {"eval-loss", "held-out loss", "#ff7f0e", {}},
                           {"kl", "KL to teacher", "#2ca02c", {}}};
  std::istringstream in(metrics_jsonl);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number()) continue;
    const double step = j["step"].get<double>();
    const char* keys[] = {"loss", "eval_loss", "kl"};
    for (size_t i = 0; i < 3; ++i)
      if (j.contains(keys[i]) && j[keys[i]].is_number() && std::isfinite(j[keys[i]].get<double>()))
        s[i].pts.emplace_back(step, j[keys[i]].get<double>());
  }
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& c : s)
    for (auto [x, y] : c.pts) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 <= x0) x1 = x0 + 1;
  y0 = std::min(0.0, y0);
  if (y1 <= y0) y1 = y0 + 1;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * (kW - kLeft - kRight); };
  auto py = [&](double y) { return kH - kBottom - (y - y0) / (y1 - y0) * (kH - kTop - kBottom); };
  std::string o = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" font-size=\"15\">{3}</text>\n",
      kW, kH, kLeft, escape(title));
  // Axes with five ticks each.
  o += fmt::format("<g stroke=\"#444\"><line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>"
                   "<line x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{1}\"/></g>\n",
                   kLeft, kH - kBottom, kW - kRight, kTop);
  for (int i = 0; i <= 4; ++i) {
    const double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.0f}</text>\n", px(xv),
                     kH - kBottom + 18, xv);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", kLeft - 6,
                     py(yv) + 4, yv);
    o += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", kLeft,
                     py(yv), kW - kRight, py(yv));
  }
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">step</text>\n", (kLeft + kW) / 2,
                   kH - 10);
  double ly = kTop + 4;
  for (const Series& c : s) {
    if (c.pts.empty()) continue;
    o += fmt::format("<polyline id=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"", c.id, c.color);
    for (size_t i = 0; i < c.pts.size(); ++i)
      o += fmt::format("{}{:.1f},{:.1f}", i ? " " : "", px(c.pts[i].first), py(c.pts[i].second));
    o += "\"/>\n";
    o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"3\" fill=\"{}\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\">{} (last {:.4f})</text>\n",
                     kW - kRight - 200, ly, c.color, kW - kRight - 180, ly + 5, c.label, c.pts.back().second);
    ly += 16;
  }
  o += "</svg>\n";
  return o;
}

void write_loss_plot(const std::string& metrics_path, const std::string& svg_path) {
  std::ifstream f(metrics_path);
  if (!f) fail("[train] cannot read metrics '{}'", metrics_path);
  std::stringstream ss;
  ss << f.rdbuf();
  if (ss.str().find("\"step\"") == std::string::npos) fail("[train] '{}' holds no training steps", metrics_path);
  write_file_atomic(svg_path, loss_curves_svg(ss.str(), "slm train: " + metrics_path));
}

}  // namespace slm::train
