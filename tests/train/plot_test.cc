// The loss plot: well-formed SVG (every tag closed, in order) with a train and a held-out series whose point
// counts match the metrics, drawn from a real training run's metrics.jsonl.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/testdata.h"
#include "core/error.h"
#include "train/plot.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

// A small well-formedness check: tags nest and close in order, attributes are quoted, one root element.
bool well_formed(const std::string& x, std::string* why) {
  std::vector<std::string> stack;
  int roots = 0;
  for (size_t i = 0; i < x.size();) {
    if (x[i] != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(x[i]))) return *why = "text outside the root", false;
      ++i;
      continue;
    }
    const size_t e = x.find('>', i);
    if (e == std::string::npos) return *why = "unclosed tag", false;
    std::string tag = x.substr(i + 1, e - i - 1);
    i = e + 1;
    if (tag.starts_with("?")) continue;
    if (std::count(tag.begin(), tag.end(), '"') % 2) return *why = "unbalanced quotes in <" + tag + ">", false;
    if (tag.starts_with("/")) {
      if (stack.empty() || stack.back() != tag.substr(1)) return *why = "mismatched </" + tag.substr(1) + ">", false;
      stack.pop_back();
      continue;
    }
    const bool self = tag.ends_with("/");
    const std::string name = tag.substr(0, tag.find_first_of(" /"));
    if (stack.empty()) ++roots;
    if (!self) stack.push_back(name);
  }
  if (!stack.empty()) return *why = "<" + stack.back() + "> not closed", false;
  if (roots != 1) return *why = "expected one root", false;
  return true;
}

size_t points_of(const std::string& svg, const std::string& id) {
  const size_t p = svg.find("id=\"" + id + "\"");
  if (p == std::string::npos) return 0;
  const size_t a = svg.find("points=\"", p) + 8, b = svg.find('"', a);
  std::istringstream in(svg.substr(a, b - a));
  size_t n = 0;
  for (std::string pt; in >> pt;) ++n;
  return n;
}

TEST(Plot, SvgFromATrainingRun) {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 16, c.n_ctx = 16, c.dim = 8, c.n_layer = 1, c.n_head = 2, c.n_head_kv = 1, c.head_dim = 4;
  c.ffn_dim = 16, c.rope_dim = 4;
  Net<float> net = Net<float>::random(c, 1, 0.1f);
  net.set_full_trainable();
  Dataset d;
  d.seqs.push_back(make_sequence({1, 2, 3, 4, 5, 6}, {0, 1, 1, 1, 1, 1}));
  testing::TempDir dir;
  TrainOptions o;
  o.steps = 12, o.batch = 1, o.eval_every = 4, o.out_dir = dir.path().string();
  o.schedule = {.lr = 1e-2f, .total = 12};
  train(net, d, &d, o);
  const std::string svg_path = dir.file("loss.svg");
  write_loss_plot(dir.file("metrics.jsonl"), svg_path);
  std::ifstream f(svg_path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string svg = ss.str();
  std::string why;
  EXPECT_TRUE(well_formed(svg, &why)) << why;
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(points_of(svg, "train-loss"), 12u);
  EXPECT_EQ(points_of(svg, "eval-loss"), 3u);  // steps 4, 8, 12
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("http", svg.find("<svg") + 40), std::string::npos) << "no external references";
}

TEST(Plot, BadInputs) {
  std::string why;
  EXPECT_TRUE(well_formed(loss_curves_svg("not json\n{\"step\": 1}\n", "a <title> & more"), &why)) << why;
  EXPECT_FALSE(well_formed("<svg><g></svg>", &why));
  testing::TempDir dir;
  EXPECT_THROW(write_loss_plot(dir.file("missing.jsonl"), dir.file("x.svg")), Error);
  std::ofstream(dir.file("empty.jsonl")) << "\n";
  EXPECT_THROW(write_loss_plot(dir.file("empty.jsonl"), dir.file("x.svg")), Error);
}

}  // namespace
}  // namespace slm::train
