// The demo's report (see demo_report.h).
#include "app/demo_report.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/report.h"

namespace slm::app {

namespace fs = std::filesystem;

namespace {

double num(const json& j, const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0; }

// The first candidate of the eval step's summary whose `field` starts with `prefix`.
json candidate(const json& eval, const std::string& prefix, const char* field = "name") {
  for (const json& c : eval.value("candidates", json::array()))
    if (c.value(field, "").starts_with(prefix)) return c;
  return json::object();
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a.empty() ? std::string("unknown") : a + " " + b + " " + c;
}

std::string svg_curve(const json& curve, const std::string& title) {
  if (!curve.is_array() || curve.size() < 2) return "";
  double lo = 1e9, hi = -1e9, xmax = 1;
  for (const json& p : curve) lo = std::min(lo, p[1].get<double>()), hi = std::max(hi, p[1].get<double>()),
                              xmax = std::max(xmax, p[0].get<double>());
  if (hi <= lo) hi = lo + 1;
  const double w = 320, h = 160, m = 30;
  std::string pts;
  for (const json& pt : curve)
    pts += fmt::format("{:.1f},{:.1f} ", m + (w - 2 * m) * pt[0].get<double>() / xmax,
                       h - m - (h - 2 * m) * (pt[1].get<double>() - lo) / (hi - lo));
  return fmt::format("<svg width='{}' height='{}' role='img'><title>{}</title><text x='{}' y='16' font-size='12'>{}</text>"
                     "<polyline fill='none' stroke='#4c78a8' stroke-width='2' points='{}'/>"
                     "<text x='2' y='{}' font-size='10'>{:.2f}</text><text x='2' y='{}' font-size='10'>{:.2f}</text>"
                     "<text x='{}' y='{}' font-size='10'>step {}</text></svg>",
                     w, h, eval::html_escape(title), m, eval::html_escape(title), pts, m + 4, hi, h - m, lo, w - m - 40,
                     h - 8, int(xmax));
}

}  // namespace

std::string pipeline_html(const json& r) {
  const json& s = r["summary"];
  std::string h = "<section id='pipeline'><h1>slm demo: raw mails to a served model</h1>\n";
  h += fmt::format("<p class='verdict'>Fine-tuned accuracy <b>{:.4f}</b> vs base (2-shot) <b>{:.4f}</b> vs classic baseline "
                   "<b>{:.4f}</b> on {} held-out mails; served {} accuracy <b>{:.4f}</b> (offline {:.4f}), latency p50 {:.1f} ms, "
                   "p95 {:.1f} ms, p99 {:.1f} ms.</p>\n",
                   num(s, "finetuned_accuracy"), num(s, "base_accuracy"), num(s, "baseline_accuracy"), s.value("n_eval", 0),
                   eval::html_escape(s.value("served_type", "")), num(s, "served_accuracy"), num(s, "served_offline_accuracy"),
                   num(s, "served_p50_ms"), num(s, "served_p95_ms"), num(s, "served_p99_ms"));
  h += "<h2>Steps</h2><table id='steps'><tr><th>#</th><th>step</th><th>this run</th><th>when it ran</th></tr>\n";
  int i = 0;
  for (const json& st : r["pipeline"]["steps"])
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1f} s</td></tr>\n", ++i, eval::html_escape(st["title"].get<std::string>()),
                     st["cached"].get<bool>() ? "cached" : fmt::format("{:.1f} s", st["seconds"].get<double>()),
                     st["ran_seconds"].get<double>());
  h += fmt::format("</table><p>Total {:.1f} s this run ({} mode, load average at the end {}).</p>\n",
                   r["pipeline"]["seconds"].get<double>(), r["pipeline"]["mode"].get<std::string>(),
                   eval::html_escape(r["pipeline"]["load_average"].get<std::string>()));
  const json &d = r["data"], &b = r["base_model"], &f = r["finetune"];
  h += fmt::format("<h2>Data</h2><p>{} mails; {} exact and {} near duplicates removed; {} train ({} spam), {} held-out "
                   "({} spam); {} held-out mails near a train mail.</p>\n",
                   d.value("mails", 0), d.value("exact_duplicates", 0), d.value("near_duplicates", 0), d.value("train", 0),
                   d.value("train_spam", 0), d.value("eval", 0), d.value("eval_spam", 0), d.value("contaminated", 0));
  h += fmt::format("<h2>Models</h2><p>Base: {:.2f}M parameters, BPE vocabulary {} ({:.3f} tokens per byte of Brown text), "
                   "{} pretraining steps ({} tokens), loss {:.3f} -> {:.3f} (held-out {:.3f}). LoRA rank {}: {} parameters, "
                   "{} steps, loss {:.3f} -> {:.3f} (validation {:.3f}).</p>\n",
                   num(b, "params") / 1e6, b.value("vocab", 0), num(b, "tokens_per_byte"), b.value("steps", 0),
                   b.value("tokens_trained", 0), num(b, "first_loss"), num(b, "last_loss"), num(b, "eval_loss"),
                   f.value("rank", 0), f.value("lora_params", 0), f.value("steps", 0), num(f, "first_loss"),
                   num(f, "last_loss"), num(f, "eval_loss"));
  h += svg_curve(b["curve"], "pretraining loss") + svg_curve(f["curve"], "LoRA loss") + "\n";
  h += "<h2>Quantisation gate</h2><table id='quant'><tr><th>type</th><th>MB</th><th>accuracy</th><th>F32 accuracy</th>"
       "<th>right&rarr;wrong</th><th>wrong&rarr;right</th><th>KL mean</th><th>gate</th></tr>\n";
  for (const json& t : r["quantise"].value("types", json::array()))
    h += fmt::format("<tr><td>{}</td><td>{:.2f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{}</td><td>{}</td><td>{:.5f}</td><td>{}</td></tr>\n",
                     eval::html_escape(t["type"].get<std::string>()), num(t, "bytes") / 1e6, num(t, "accuracy"), num(t, "accuracy_f32"),
                     t.value("right_to_wrong", 0), t.value("wrong_to_right", 0), num(t["kld"], "mean"),
                     t.value("pass", false) ? "<span class='pass'>pass</span>"
                                            : "<span class='fail'>fail</span> " + eval::html_escape(t["failures"].dump()));
  h += "</table>\n</section>\n<hr>\n";
  return h;
}

DemoResult write_report(const DemoPlan& p, const StepCache& steps, const std::string& workdir) {
  json steps_j = json::array();
  for (const StepRecord& s : steps.records())
    steps_j.push_back({{"name", s.name}, {"title", s.title}, {"cached", s.cached}, {"seconds", s.seconds},
                       {"ran_seconds", s.ran_seconds}});
  steps_j.push_back({{"name", "report"}, {"title", "report: HTML + JSON"}, {"cached", false}, {"seconds", 0.0},
                     {"ran_seconds", 0.0}});
  const json& ev = steps.get("eval").result;
  const json& sv = steps.get("serve").result;
  const json summary = {{"n_eval", ev["n_eval"]},
                        {"baseline_accuracy", num(candidate(ev, "baseline", "kind"), "accuracy")},
                        {"base_accuracy", num(candidate(ev, "base ("), "accuracy")},
                        {"finetuned_accuracy", num(candidate(ev, "fine-tuned"), "accuracy")},
                        {"served_type", sv["type"]},
                        {"served_n", sv["n"]},
                        {"served_accuracy", sv["accuracy"]},
                        {"served_offline_accuracy", sv["offline_accuracy"]},
                        {"served_agree", sv["agree"]},
                        {"served_p50_ms", num(sv["latency_ms"], "p50_ms")},
                        {"served_p95_ms", num(sv["latency_ms"], "p95_ms")},
                        {"served_p99_ms", num(sv["latency_ms"], "p99_ms")},
                        {"verdict", ev["verdict"]}};
  json r = {{"pipeline", {{"mode", p.quick ? "quick" : "full"}, {"steps", steps_j}, {"seconds", steps.elapsed()},
                          {"load_average", load_average()}, {"threads", p.threads}, {"params", p.params()}}},
            {"summary", summary},
            {"data", steps.get("data").result},
            {"base_model", steps.get("base").result},
            {"finetune", steps.get("finetune").result},
            {"eval", ev},
            {"quantise", steps.get("quantise").result},
            {"serve", sv}};
  // The evaluation's own JSON (with every prediction) stays in eval/eval.json; the report links it.
  r["eval"]["report"] = (fs::path("eval") / "eval.json").string();
  DemoResult out;
  out.report_json = (fs::path(workdir) / "report.json").string();
  out.report_html = (fs::path(workdir) / "report.html").string();
  write_text(out.report_json, r.dump(2) + "\n");
  std::string html = read_text((fs::path(steps.dir("eval")) / "eval.html").string());
  const size_t body = html.find("<body>");
  if (body == std::string::npos) fail("[demo] eval/eval.html has no <body>");
  html.insert(body + 6, "\n" + pipeline_html(r));
  write_text(out.report_html, html);
  out.report = std::move(r);
  return out;
}

}  // namespace slm::app
