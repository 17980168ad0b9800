// Loss curves as a self-contained SVG (no scripts, no network): train loss, held-out loss and, when
// distilling, the KL divergence, read from the metrics.jsonl that training writes.
#pragma once

#include <string>

namespace slm::train {

// metrics.jsonl text -> SVG text. Series: <polyline id="train-loss">, <polyline id="eval-loss"> (when
// any record has eval_loss), <polyline id="kl"> (when any has kl). Lines that are not JSON are skipped.
std::string loss_curves_svg(const std::string& metrics_jsonl, const std::string& title);

// Reads metrics_path, writes svg_path; throws slm::Error when the file cannot be read or holds no step.
void write_loss_plot(const std::string& metrics_path, const std::string& svg_path);

}  // namespace slm::train
