// Writes the vocab fuzz seeds: vocabulary-only GGUF files of the three tokenizer models GGUF names (llama,
// gpt2, bert) and a SentencePiece BPE tokenizer.model built field by field.
#include <cstring>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "text_seeds.h"

namespace {

using namespace slm::gguf;

Value strings(std::vector<std::string> v) {
  Array a{ValueType::string, {}};
  for (std::string& s : v) a.items.push_back(Value{std::move(s)});
  return Value{std::move(a)};
}

std::vector<uint8_t> vocab_gguf(const std::string& model, std::vector<std::string> tokens,
                                std::vector<std::string> merges) {
  Writer w;
  w.add_kv("tokenizer.ggml.model", Value{model});
  Array scores{ValueType::f32, {}}, types{ValueType::i32, {}};
  for (size_t i = 0; i < tokens.size(); ++i) {
    scores.items.push_back(Value{-float(i)});
    types.items.push_back(Value{int32_t(i < 3 ? 3 : 1)});
  }
  w.add_kv("tokenizer.ggml.tokens", strings(std::move(tokens)));
  w.add_kv("tokenizer.ggml.scores", Value{scores});
  w.add_kv("tokenizer.ggml.token_type", Value{types});
  if (!merges.empty()) w.add_kv("tokenizer.ggml.merges", strings(std::move(merges)));
  w.add_kv("tokenizer.ggml.pre", Value{std::string(model == "gpt2" ? "llama-bpe" : "default")});
  w.add_kv("tokenizer.ggml.bos_token_id", Value{uint32_t(1)});
  w.add_kv("tokenizer.ggml.eos_token_id", Value{uint32_t(2)});
  w.add_kv("tokenizer.ggml.add_bos_token", Value{true});
  w.add_kv("tokenizer.chat_template", Value{std::string("{% for m in messages %}{{ m.content }}{% endfor %}")});
  return w.to_bytes();
}

void varint(std::string& out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out += char(v | 0x80);
  out += char(v);
}
void field_bytes(std::string& out, int field, const std::string& b) {
  varint(out, uint64_t(field) << 3 | 2);
  varint(out, b.size());
  out += b;
}
void field_varint(std::string& out, int field, uint64_t v) {
  varint(out, uint64_t(field) << 3);
  varint(out, v);
}

std::string spm_model() {
  std::string m;
  const char* pieces[] = {"<unk>", "<s>", "</s>", "<0x41>", "\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi"};
  for (int i = 0; i < 9; ++i) {
    std::string p;
    field_bytes(p, 1, pieces[i]);
    const float score = -float(i);
    uint32_t u;
    std::memcpy(&u, &score, 4);
    p += char(2 << 3 | 5);
    for (int k = 0; k < 4; ++k) p += char(u >> (8 * k));
    field_varint(p, 3, i == 0 ? 2 : i < 3 ? 3 : i == 3 ? 6 : 1);
    field_bytes(m, 1, p);
  }
  std::string trainer;
  field_varint(trainer, 3, 2);  // BPE
  field_varint(trainer, 35, 1);
  field_varint(trainer, 40, 0), field_varint(trainer, 41, 1), field_varint(trainer, 42, 2);
  field_bytes(m, 2, trainer);
  std::string normalizer;
  field_varint(normalizer, 3, 1);
  field_bytes(m, 3, normalizer);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string spm = spm_model();
  if (const int rc = write_seeds(argc, argv, {spm}); rc != 0) return rc;
  const std::vector<std::vector<uint8_t>> ggufs = {
      vocab_gguf("llama", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "h", "i", "hi", "\xE2\x96\x81hi", "<0x0A>"}, {}),
      vocab_gguf("gpt2", {"<pad>", "<|bos|>", "<|eos|>", "h", "i", "hi", "\xC4\xA0", "\xC4\xA0hi"}, {"h i", "\xC4\xA0 hi"}),
      vocab_gguf("bert", {"[PAD]", "[CLS]", "[SEP]", "[UNK]", "hello", "world", "##s"}, {}),
  };
  for (size_t i = 0; i < ggufs.size(); ++i) {
    const std::string_view bytes(reinterpret_cast<const char*>(ggufs[i].data()), ggufs[i].size());
    if (!write_seed(argv[1], "seed-gguf-" + std::to_string(i), bytes)) return 1;
  }
  return 0;
}
