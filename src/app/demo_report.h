// The demo's report: the evaluation report (src/eval's HTML and JSON) with the pipeline summary on top:
// steps and their times (cached or run), data counts, loss curves, the quantisation gate and the live run.
#pragma once

#include <string>

#include "app/demo.h"
#include "app/demo_steps.h"

namespace slm::app {

// Writes workdir/report.json and workdir/report.html from the steps' results and prints where they are.
DemoResult write_report(const DemoPlan& p, const StepCache& steps, const std::string& workdir);

// The pipeline summary as an HTML fragment (tables and an inline SVG loss plot).
std::string pipeline_html(const json& report);

}  // namespace slm::app
