// Evaluation reports: a terminal table, JSON, and a self-contained HTML page (inline SVG plots: confusion
// matrices, reliability diagram, latency distribution, accuracy against cost; no external assets).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/harness.h"

namespace slm::eval {

std::string report_table(const EvalReport& r);
nlohmann::json report_json(const EvalReport& r, bool with_predictions = false);
std::string report_html(const EvalReport& r);

std::string html_escape(std::string_view s);

}  // namespace slm::eval
