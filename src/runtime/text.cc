// Tokenizer-backed decoders and the llama2.c tokenizer.bin reader.
#include "runtime/text.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace slm::runtime {
namespace {

class TokDecoder : public PieceDecoder {
 public:
  TokDecoder(const tok::Tokenizer& t, bool strip_space)
      : d_(t, tok::DecodeOptions{.special = false, .strip_space = strip_space}) {}
  std::string push(int32_t id) override { return d_.push(id); }
  std::string flush() override { return d_.flush(); }

 private:
  tok::IncrementalDecoder d_;
};

}  // namespace

DecoderFactory tokenizer_decoder(const tok::Tokenizer& tok, bool strip_space) {
  return [&tok, strip_space] { return std::make_unique<TokDecoder>(tok, strip_space); };
}

std::vector<int32_t> eog_tokens(const tok::Tokenizer& tok) {
  std::vector<int32_t> out;
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    if (tok.is_eog(id)) out.push_back(id);
  }
  return out;
}

tok::TokenizerSpec llama2c_tokenizer_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[tokenizer] {}: cannot open", path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = 0;
  auto read = [&](void* dst, size_t n, const char* what) {
    if (bytes.size() - at < n) fail("[tokenizer] {}: offset {}: {} past end of file", path, at, what);
    std::memcpy(dst, bytes.data() + at, n);
    at += n;
  };
  int32_t max_len = 0;
  read(&max_len, 4, "header");
  if (max_len <= 0 || max_len > 4096) fail("[tokenizer] {}: max token length {} is not plausible", path, max_len);
  tok::TokenizerSpec s;
  while (at < bytes.size()) {
    float score = 0;
    int32_t len = 0;
    read(&score, 4, "score");
    read(&len, 4, "length");
    if (len <= 0 || len > max_len) {
      fail("[tokenizer] {}: offset {}: token {} has length {} (max {})", path, at - 4, s.tokens.size(), len,
           max_len);
    }
    std::string text(size_t(len), '\0');
    read(text.data(), size_t(len), "token bytes");
    s.tokens.push_back(std::move(text));
    s.scores.push_back(score);
  }
  if (s.tokens.size() < 3) fail("[tokenizer] {}: {} tokens, expected at least 3", path, s.tokens.size());
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    std::string& t = s.tokens[i];
    const bool is_byte = t.size() == 6 && t.starts_with("<0x") && t.back() == '>';
    s.types.push_back(i == 0 ? tok::TokenType::unknown
                      : i < 3 ? tok::TokenType::control
                      : is_byte ? tok::TokenType::byte
                                : tok::TokenType::normal);
    // llama2.c stores spaces as ' '; SPM vocabularies (and the encoder) use U+2581.
    for (size_t p = 0; (p = t.find(' ', p)) != std::string::npos;) t.replace(p, 1, "\xE2\x96\x81");
  }
  s.kind = tok::ModelKind::spm;
  s.pre = "llama2c";
  s.byte_fallback = true;
  s.normalizers.push_back({tok::NormStep::Kind::prepend, " ", ""});
  s.normalizers.push_back({tok::NormStep::Kind::replace, " ", "\xE2\x96\x81"});
  s.decode_strip_space = true;
  s.unk = 0, s.bos = 1, s.eos = 2;
  s.add_bos = true;
  return s;
}

std::optional<tok::Tokenizer> load_tokenizer(const model::Model& model, const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) {
    // llama2.c's tokenizer.bin has no magic; every format Tokenizer::load knows has one (or is JSON / text).
    std::ifstream in(tokenizer_path, std::ios::binary);
    if (!in) fail("[tokenizer] {}: cannot open", tokenizer_path);
    char head[4] = {};
    in.read(head, 4);
    const bool gguf = in.gcount() == 4 && std::memcmp(head, "GGUF", 4) == 0;
    if (!gguf && tokenizer_path.ends_with(".bin")) return tok::Tokenizer(llama2c_tokenizer_spec(tokenizer_path));
    return tok::Tokenizer::load(tokenizer_path);
  }
  if (const gguf::File* f = model.gguf()) return tok::Tokenizer::from_gguf(*f);
  return std::nullopt;
}

}  // namespace slm::runtime
