// On the real stories260K model an imatrix from in-domain text (the model's own greedy story) lowers the KL
// divergence of Q4_K_M and IQ4_XS (which falls back to IQ4_NL on its 64-wide rows) against the same type
// quantised without one. Figures on held-out text: docs/QUANTIZATION.md.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/testdata.h"
#include "io/gguf.h"
#include "model/imatrix.h"
#include "model/model.h"
#include "model/quant_report.h"
#include "model/quantize_model.h"
#include "tokenizer/tokenizer.h"

namespace slm::model {
namespace {

TEST(ImatrixGain, Stories260kQ4KMAndIQ4XS) {
  SLM_REQUIRE_TESTDATA(path, "models/stories260K/stories260K.gguf");
  std::ifstream f(path.parent_path() / "expected_greedy_t0_n200.txt");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const Model base = Model::load(path.string());
  std::vector<int32_t> ids;
  for (tok::TokenId id : tok::Tokenizer::from_gguf(*base.gguf()).encode(text)) ids.push_back(int32_t(id));
  ASSERT_GT(ids.size(), 150u);
  const Imatrix im = imatrix_collect(base, ids, {.n_ctx = 64});
  testing::TempDir tmp;
  for (const char* type : {"Q4_K_M", "IQ4_XS"}) {
    quantize_model(*base.gguf(), tmp.file("plain.gguf"), {.file_type = type, .n_threads = 1});
    quantize_model(*base.gguf(), tmp.file("im.gguf"), {.file_type = type, .imatrix = &im, .n_threads = 1});
    const Model plain = Model::load(tmp.file("plain.gguf")), weighted = Model::load(tmp.file("im.gguf"));
    const double kl_plain = quant_report(base, plain, ids, {.n_ctx = 64}).kld_mean;
    const double kl_im = quant_report(base, weighted, ids, {.n_ctx = 64}).kld_mean;
    EXPECT_LT(kl_im, 0.97 * kl_plain) << type << ": " << kl_plain << " -> " << kl_im;
  }
}

}  // namespace
}  // namespace slm::model
