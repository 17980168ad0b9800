// stories260K (a real pretrained Llama): the greedy 200-step continuation from BOS equals llama2.c's
// output, from the GGUF and from both llama2.c checkpoint versions; all three load the same weights.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "common/testdata.h"
#include "model/model.h"
#include "model/reference_forward.h"

namespace slm::model {
namespace {

// llama2.c tokenizer.bin: int32 max_len, then per token {float score, int32 len, bytes}. Decode only.
std::vector<std::string> read_tok_bin(const std::filesystem::path& p, int n_vocab) {
  std::ifstream f(p, std::ios::binary);
  int32_t max_len = 0;
  f.read(reinterpret_cast<char*>(&max_len), 4);
  std::vector<std::string> v(static_cast<size_t>(n_vocab));
  for (std::string& s : v) {
    float score;
    int32_t len;
    f.read(reinterpret_cast<char*>(&score), 4);
    f.read(reinterpret_cast<char*>(&len), 4);
    s.resize(size_t(len));
    f.read(s.data(), len);
  }
  return v;
}

// llama2.c's decode: after BOS a leading space is dropped; "<0xNN>" pieces are raw bytes.
std::string piece(const std::vector<std::string>& vocab, int prev, int tok) {
  std::string s = vocab[size_t(tok)];
  if (prev == 1 && !s.empty() && s[0] == ' ') s.erase(0, 1);
  unsigned byte;
  if (s.size() == 6 && std::sscanf(s.c_str(), "<0x%02X>", &byte) == 1) return std::string(1, char(byte));
  return s;
}

// llama2.c run.c with -t 0 -n 200: starts at BOS, stops at 200 positions or when BOS is sampled.
std::string greedy_200(const Model& m, const std::vector<std::string>& vocab) {
  KvCache kv = m.make_cache({.n_seq = 1, .n_ctx = 200, .type = KvType::f32});
  std::string out;
  int tok = 1;
  for (int pos = 0; pos < 200; ++pos) {
    const std::vector<float> lg = m.prefill(std::span(&tok, 1), kv);
    const int next = int(std::max_element(lg.begin(), lg.end()) - lg.begin());
    if (next == 1) break;
    out += piece(vocab, tok, next);
    tok = next;
  }
  return out;
}

class Stories260K : public ::testing::TestWithParam<const char*> {};

TEST_P(Stories260K, Greedy200MatchesLlama2c) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  std::ifstream ef(dir / "expected_greedy_t0_n200.txt", std::ios::binary);
  std::stringstream want;
  want << ef.rdbuf();
  const Model m = Model::load((dir / GetParam()).string());
  const ModelConfig& c = m.config();
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layer, 5);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.ffn_dim, 172);
  const std::string got = greedy_200(m, read_tok_bin(dir / "tok512.bin", 512));
  // llama2.c prints a final newline that the fixture strips.
  std::string g = got;
  while (!g.empty() && g.back() == '\n') g.pop_back();
  EXPECT_EQ(g, want.str());
}

INSTANTIATE_TEST_SUITE_P(Files, Stories260K,
                         ::testing::Values("stories260K.gguf", "stories260K.bin", "stories260K.v1.bin"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(Stories260K, BinAndGgufGiveTheSameLogits) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 291, 385, 268, 400, 13};
  std::vector<std::vector<float>> logits;
  for (const char* f : {"stories260K.gguf", "stories260K.bin", "stories260K.v1.bin"}) {
    const Model m = Model::load((dir / f).string());
    KvCache kv = m.make_cache({.n_ctx = 64, .type = KvType::f32});
    logits.push_back(m.prefill(ids, kv, 0, true));
  }
  EXPECT_LT(testing::nmse(logits[1], logits[0]), 1e-12);  // equal to rounding
  EXPECT_LT(testing::nmse(logits[2], logits[1]), 1e-12);
}

// An unshared classifier (v0: negative vocab_size; v1: shared flag 0) is read after the other weights:
// appending a copy of the embedding as the classifier must give the shared model's logits.
TEST(Stories260K, UnsharedClassifierIsRead) {
  SLM_REQUIRE_TESTDATA(dir, "models/stories260K");
  slm::testing::TempDir tmp;
  const std::vector<int32_t> ids = {1, 403, 407, 261};
  auto logits = [&](const std::string& path) {
    const Model m = Model::load(path);
    EXPECT_FALSE(m.config().tied_embeddings) << path;
    KvCache kv = m.make_cache({.n_ctx = 8, .type = KvType::f32});
    return m.prefill(ids, kv, 0, true);
  };
  const Model shared = Model::load((dir / "stories260K.bin").string());
  KvCache kv = shared.make_cache({.n_ctx = 8, .type = KvType::f32});
  const std::vector<float> want = shared.prefill(ids, kv, 0, true);
  for (const char* name : {"stories260K.bin", "stories260K.v1.bin"}) {
    std::ifstream in(dir / name, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool v1 = std::string_view(name).find("v1") != std::string_view::npos;
    // The embedding: v0 right after the 28-byte header; v1 after the 256-byte header and 11 norm vectors.
    const size_t emb = v1 ? 256 + 4 * 64 * 11 : 28;
    const std::string cls = bytes.substr(emb, 512 * 64 * 4);
    if (v1) {
      bytes[36] = 0;
    } else {
      const int32_t neg = -512;
      std::memcpy(bytes.data() + 20, &neg, 4);
    }
    bytes += cls;
    const std::string path = tmp.file(std::string("unshared-") + name);
    std::ofstream(path, std::ios::binary) << bytes;
    EXPECT_LT(testing::nmse(logits(path), want), 1e-12) << name;
  }
}

}  // namespace
}  // namespace slm::model
