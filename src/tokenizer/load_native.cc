// Tokenizers from native files: SentencePiece tokenizer.model (protobuf, parsed here minimally),
// GPT-2's encoder.json + vocab.bpe, tiktoken ranks; and load(), which picks a loader by content.
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/json_ids.h"
#include "tokenizer/presets.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace slm::tok {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[tokenizer] cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A bounds-checked protobuf wire-format reader: just what ModelProto needs.
class ProtoReader {
 public:
  ProtoReader(std::string_view buf, const std::string& where) : buf_(buf), where_(where) {}
  bool done() const { return pos_ >= buf_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= buf_.size()) fail("[tokenizer] {}: truncated varint at byte {}", where_, pos_);
      const uint8_t b = uint8_t(buf_[pos_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("[tokenizer] {}: varint too long at byte {}", where_, pos_);
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > buf_.size() - pos_) fail("[tokenizer] {}: field length {} past end at byte {}", where_, n, pos_);
    std::string_view s = buf_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint32_t fixed32() {
    if (buf_.size() - pos_ < 4) fail("[tokenizer] {}: truncated fixed32 at byte {}", where_, pos_);
    uint32_t v;
    std::memcpy(&v, buf_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: fail("[tokenizer] {}: unsupported wire type {} at byte {}", where_, wire, pos_);
    }
  }

 private:
  void advance(size_t n) {
    if (buf_.size() - pos_ < n) fail("[tokenizer] {}: truncated field at byte {}", where_, pos_);
    pos_ += n;
  }
  std::string_view buf_;
  std::string where_;
  size_t pos_ = 0;
};

}  // namespace

Tokenizer Tokenizer::from_spm_model(const std::string& path) {
  const std::string data = read_file(path);
  TokenizerSpec s;
  s.kind = ModelKind::spm;
  bool add_dummy_prefix = true, byte_fallback = false;
  int model_type = 1;  // UNIGRAM unless the trainer spec says otherwise
  ProtoReader r(data, path);
  while (!r.done()) {
    const uint64_t tag = r.varint();
    const uint32_t field = uint32_t(tag >> 3), wire = uint32_t(tag & 7);
    if (field == 1 && wire == 2) {  // SentencePiece { piece = 1; score = 2; type = 3 }
      ProtoReader p(r.bytes(), path);
      std::string piece;
      float score = 0;
      int type = 1;
      while (!p.done()) {
        const uint64_t t = p.varint();
        if (t == (1 << 3 | 2)) piece = std::string(p.bytes());
        else if (t == (2 << 3 | 5)) { const uint32_t u = p.fixed32(); std::memcpy(&score, &u, 4); }
        else if (t == (3 << 3 | 0)) type = int(p.varint());
        else p.skip(uint32_t(t & 7));
      }
      s.tokens.push_back(std::move(piece));
      s.scores.push_back(score);
      s.types.push_back(type >= 1 && type <= 6 ? TokenType(type) : TokenType::normal);
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader t(r.bytes(), path);
      while (!t.done()) {
        const uint64_t tt = t.varint();
        const uint32_t f = uint32_t(tt >> 3), w = uint32_t(tt & 7);
        if (w != 0) { t.skip(w); continue; }
        const int64_t v = int64_t(t.varint());
        if (f == 3) model_type = int(v);
        else if (f == 35) byte_fallback = v != 0;
        else if (f == 40) s.unk = TokenId(v);
        else if (f == 41) s.bos = TokenId(v);
        else if (f == 42) s.eos = TokenId(v);
        else if (f == 43) s.pad = TokenId(v);
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec { add_dummy_prefix = 3 }
      ProtoReader t(r.bytes(), path);
      while (!t.done()) {
        const uint64_t tt = t.varint();
        if (tt == (3 << 3 | 0)) add_dummy_prefix = t.varint() != 0;
        else t.skip(uint32_t(tt & 7));
      }
    } else {
      r.skip(wire);
    }
  }
  if (s.tokens.empty()) fail("[tokenizer] {}: no pieces (not a SentencePiece model?)", path);
  if (model_type != 2) fail("[tokenizer] {}: SentencePiece model type {} is not supported (BPE = 2 is)", path, model_type);
  for (TokenId* id : {&s.unk, &s.bos, &s.eos, &s.pad})
    if (*id < 0 || *id >= TokenId(s.tokens.size())) *id = kNoToken;
  s.byte_fallback = byte_fallback;
  if (add_dummy_prefix) s.normalizers.push_back({NormStep::Kind::prepend, " ", ""});
  s.normalizers.push_back({NormStep::Kind::replace, " ", "\xE2\x96\x81"});
  s.decode_strip_space = add_dummy_prefix;
  s.add_bos = s.bos != kNoToken;
  s.pre = "default";
  for (size_t id = 0; id < s.tokens.size(); ++id) {
    const TokenType t = s.types[id];
    if (t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown)
      s.added.push_back({TokenId(id), s.tokens[id], t != TokenType::user_defined, false, false});
  }
  detect_eog(s);
  return Tokenizer(std::move(s));
}

Tokenizer Tokenizer::from_gpt2_files(const std::string& encoder_json, const std::string& vocab_bpe,
                                     const std::string& pre) {
  TokenizerSpec s;
  s.kind = ModelKind::bpe;
  s.byte_level = true;
  s.pre = pre;
  s.pre_steps = pre_steps_for(pre, &s.ignore_merges);
  try {
    const nlohmann::json enc = nlohmann::json::parse(read_file(encoder_json));
    size_t n = 0;
    if (!enc.is_object()) fail("[tokenizer] {}: must be an object of token: id", encoder_json);
    for (auto it = enc.begin(); it != enc.end(); ++it)
      n = std::max<size_t>(n, size_t(json_token_id(it.value(), encoder_json, "token '" + it.key() + "'")) + 1);
    check_dense_ids(n, enc.size(), encoder_json);
    s.tokens.assign(n, "");
    for (auto it = enc.begin(); it != enc.end(); ++it) s.tokens[it.value().get<size_t>()] = it.key();
  } catch (const nlohmann::json::exception& e) {
    fail("[tokenizer] {}: {}", encoder_json, e.what());
  }
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i].empty()) s.tokens[i] = "[PAD" + std::to_string(i) + "]";
  std::istringstream merges(read_file(vocab_bpe));
  for (std::string line; std::getline(merges, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.starts_with("#version")) continue;
    const size_t sp = line.find(' ', 1);
    if (sp == std::string::npos) fail("[tokenizer] {}: merge line '{}' has no space", vocab_bpe, line);
    s.merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  return Tokenizer(std::move(s));
}

namespace {

std::string base64_decode(std::string_view in, const std::string& where) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) fail("[tokenizer] {}: bad base64 '{}'", where, in);
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

Tokenizer Tokenizer::from_tiktoken(const std::string& path, const std::string& pre,
                                   const std::vector<std::string>& specials) {
  TokenizerSpec s;
  s.kind = ModelKind::spm;  // tiktoken merges the adjacent pair whose concatenation has the lowest rank
  s.byte_level = true;
  s.pre = pre;
  s.pre_steps = pre_steps_for(pre, &s.ignore_merges);
  std::istringstream in(read_file(path));
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) fail("[tokenizer] {}:{}: expected '<base64> <rank>'", path, line_no);
    const long rank = std::strtol(line.c_str() + sp + 1, nullptr, 10);
    if (rank < 0 || rank > (1 << 24)) fail("[tokenizer] {}:{}: bad rank", path, line_no);
    if (size_t(rank) >= s.tokens.size()) {
      check_dense_ids(size_t(rank) + 1, line_no, path);  // ranks come in order: at most one per line
      s.tokens.resize(rank + 1);
    }
    s.tokens[rank] = bytes_to_byte_level(base64_decode(std::string_view(line).substr(0, sp), path));
  }
  s.scores.resize(s.tokens.size());
  for (size_t i = 0; i < s.tokens.size(); ++i) s.scores[i] = -float(i);
  s.types.assign(s.tokens.size(), TokenType::normal);
  for (const std::string& sp : specials) {
    const TokenId id = TokenId(s.tokens.size());
    s.tokens.push_back(sp);
    s.scores.push_back(-float(id));
    s.types.push_back(TokenType::control);
    s.added.push_back({id, sp, true, false, false});
  }
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i].empty()) s.tokens[i] = "[PAD" + std::to_string(i) + "]", s.types[i] = TokenType::unused;
  detect_eog(s);
  return Tokenizer(std::move(s));
}

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) return from_hf_file((fs::path(path) / "tokenizer.json").string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[tokenizer] cannot open '{}'", path);
  char head[4] = {};
  in.read(head, 4);
  const std::string_view h(head, size_t(in.gcount()));
  if (h == "GGUF") return from_gguf(gguf::File::open(path));
  const size_t first = h.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && h[first] == '{') return from_hf_file(path);
  if (!h.empty() && h[0] == 0x0A) return from_spm_model(path);
  fail("[tokenizer] '{}': not a GGUF, tokenizer.json or SentencePiece model", path);
}

}  // namespace slm::tok
