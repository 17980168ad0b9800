// Tokenizer construction (compiling a TokenizerSpec), decoding, accessors and the incremental decoder.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace slm::tok {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t at = 0;
  for (size_t p; (p = s.find(from, at)) != std::string_view::npos; at = p + from.size()) {
    out.append(s.substr(at, p - at));
    out.append(to);
  }
  out.append(s.substr(at));
  return out;
}

// "<0xAB>" -> 0xAB, else -1.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  int v = 0;
  for (char c : t.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

}  // namespace

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap * 3 < n * 4) cap <<= 1;  // load factor at most 3/4
  slots_.assign(cap, Entry{});
  mask_ = cap - 1;
  size_ = 0;
}

void MergeTable::grow() {
  std::vector<Entry> old;
  old.swap(slots_);
  reserve(std::max<size_t>(old.size(), 16));  // doubles the capacity
  for (const Entry& e : old)
    if (e.key != kEmpty) insert(TokenId(e.key >> 32), TokenId(uint32_t(e.key)), e.rank, e.result);
}

void MergeTable::insert(TokenId l, TokenId r, int32_t rank, TokenId result) {
  if ((size_ + 1) * 4 > slots_.size() * 3) grow();
  const uint64_t k = key(l, r);
  for (size_t i = mix(k) & mask_;; i = (i + 1) & mask_) {
    Entry& e = slots_[i];
    if (e.key == k) {
      if (rank < e.rank) e.rank = rank, e.result = result;
      return;
    }
    if (e.key == kEmpty) {
      e = Entry{k, rank, result};
      ++size_;
      return;
    }
  }
}

namespace {

void compile_merges(Tokenizer::Impl& m) {
  const TokenizerSpec& s = m.spec;
  if (s.kind == ModelKind::bpe) {
    m.merges.reserve(s.merges.size());
    std::string joined;
    for (size_t i = 0; i < s.merges.size(); ++i) {
      const auto& [a, b] = s.merges[i];
      joined.assign(a).append(b);
      const TokenId l = m.lookup(a), r = m.lookup(b), x = m.lookup(joined);
      if (l != kNoToken && r != kNoToken && x != kNoToken) m.merges.insert(l, r, int32_t(i), x);
    }
  } else if (s.kind == ModelKind::spm) {
    // Rank = position of the merged token's score among the distinct scores, highest first.
    std::vector<float> distinct(s.scores.begin(), s.scores.end());
    std::sort(distinct.begin(), distinct.end(), std::greater<>());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    m.merges.reserve(s.tokens.size());
    for (size_t id = 0; id < s.tokens.size(); ++id) {
      const std::string& t = s.tokens[id];
      if (s.types[id] == TokenType::byte || s.types[id] == TokenType::unused) continue;
      const float sc = s.scores.empty() ? 0.0f : s.scores[id];
      const int32_t rank = int32_t(std::lower_bound(distinct.begin(), distinct.end(), sc, std::greater<>()) -
                                   distinct.begin());
      for (size_t k = utf8_lead_len(uint8_t(t[0])); k < t.size(); k += utf8_lead_len(uint8_t(t[k]))) {
        const TokenId l = m.lookup(std::string_view(t).substr(0, k));
        if (l == kNoToken) continue;
        const TokenId r = m.lookup(std::string_view(t).substr(k));
        if (r != kNoToken) m.merges.insert(l, r, rank, TokenId(id));
      }
    }
  }
}

std::string decoded_piece(const TokenizerSpec& s, size_t id) {
  const std::string& t = s.tokens[id];
  const TokenType ty = s.types[id];
  if (ty == TokenType::control) return t;
  if (ty == TokenType::byte || (s.byte_fallback && !s.byte_level)) {
    const int b = parse_byte_token(t);
    if (b >= 0) return std::string(1, char(b));
  }
  switch (s.kind) {
    case ModelKind::wordpiece:
      if (s.wordpiece_hf_form) return t.starts_with("##") ? t.substr(2) : std::string(1, ' ').append(t);
      if (!t.starts_with(kSpmSpace)) return t;
      return std::string(1, ' ').append(std::string_view(t).substr(kSpmSpace.size()));
    default:
      if (s.byte_level) return ty == TokenType::user_defined ? t : byte_level_to_bytes(t);
      return replace_all(t, kSpmSpace, " ");
  }
}

}  // namespace

void Tokenizer::Impl::compile() {
  TokenizerSpec& s = spec;
  const size_t n = s.tokens.size();
  if (n == 0) fail("[tokenizer] empty vocabulary");
  if (n > size_t(INT32_MAX)) fail("[tokenizer] vocabulary too large: {}", n);
  if (!s.scores.empty() && s.scores.size() != n)
    fail("[tokenizer] {} scores for {} tokens", s.scores.size(), n);
  if (s.types.empty()) s.types.assign(n, TokenType::normal);
  if (s.types.size() != n) fail("[tokenizer] {} token types for {} tokens", s.types.size(), n);
  for (TokenId* id : {&s.bos, &s.eos, &s.eot, &s.unk, &s.pad, &s.sep})
    if (*id < kNoToken || *id >= TokenId(n)) fail("[tokenizer] special token id {} out of range [0, {})", *id, n);
  for (TokenId id : s.eog)
    if (id < 0 || id >= TokenId(n)) fail("[tokenizer] end-of-generation id {} out of range [0, {})", id, n);

  token_to_id.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    token_to_id.emplace(s.tokens[id], TokenId(id));
    max_token_len = std::max(max_token_len, s.tokens[id].size());
  }
  compile_merges(*this);

  for (int c = 0; c < 128; ++c) ascii_token[c] = lookup(std::string(1, char(c)));
  space_marker = lookup(kSpmSpace);
  if (!s.byte_level && s.kind != ModelKind::wordpiece && s.pre_steps.empty()) {
    spm_words = true;
    for (const std::string& t : s.tokens) {
      for (size_t p = t.find(kSpmSpace, 1); p != std::string::npos && spm_words; p = t.find(kSpmSpace, p + 1))
        if (p < kSpmSpace.size() || t.compare(p - kSpmSpace.size(), kSpmSpace.size(), kSpmSpace) != 0)
          spm_words = false;
      if (!spm_words) break;
    }
  }
  static std::atomic<uint64_t> next_serial{1};
  serial = next_serial++;
  for (int b = 0; b < 256; ++b)
    byte_token[b] = s.byte_level ? lookup(byte_to_unicode()[b]) : lookup(fmt::format("<0x{:02X}>", b));

  pieces.resize(n);
  for (size_t id = 0; id < n; ++id) pieces[id] = decoded_piece(s, id);

  for (const PreStep& p : s.pre_steps) {
    SplitStep st;
    if (p.kind == PreStep::Kind::split) st.regex = Regex(p.pattern, p.literal);
    st.behavior = p.behavior;
    st.invert = p.invert;
    splits.push_back(std::move(st));
  }

  for (const AddedToken& a : s.added) {
    if (a.id < 0 || a.id >= TokenId(n)) fail("[tokenizer] added token '{}': id {} out of range", a.content, a.id);
    if (!a.content.empty()) added.push_back(a);
  }
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& x, const AddedToken& y) {
    if (x.content[0] != y.content[0]) return uint8_t(x.content[0]) < uint8_t(y.content[0]);
    return x.content.size() > y.content.size();
  });
  for (uint32_t i = 0; i < added.size();) {
    const uint8_t c = uint8_t(added[i].content[0]);
    uint32_t j = i;
    while (j < added.size() && uint8_t(added[j].content[0]) == c) ++j;
    added_by_byte[c] = {i, j};
    i = j;
  }

  if (s.kind == ModelKind::wordpiece) {
    for (size_t id = 0; id < n; ++id) {
      const std::string& t = s.tokens[id];
      if (s.wordpiece_hf_form) {
        if (t.starts_with("##")) wp_cont.emplace(t.substr(2), TokenId(id));
        else wp_start.emplace(t, TokenId(id));
      } else {
        if (t.starts_with(kSpmSpace)) wp_start.emplace(t.substr(kSpmSpace.size()), TokenId(id));
        else wp_cont.emplace(t, TokenId(id));
      }
    }
  }
}

Tokenizer::Tokenizer(TokenizerSpec spec) {
  auto impl = std::make_shared<Impl>();
  impl->spec = std::move(spec);
  impl->compile();
  impl_ = std::move(impl);
}

std::string Tokenizer::token_to_piece(TokenId id, bool special) const {
  if (id < 0 || id >= n_vocab()) fail("[tokenizer] token id {} out of range [0, {})", id, n_vocab());
  if (!special && impl_->spec.types[id] == TokenType::control) return {};
  return impl_->pieces[id];
}

std::string Tokenizer::decode(std::span<const TokenId> ids, DecodeOptions opt) const {
  std::string out;
  for (TokenId id : ids) out += token_to_piece(id, opt.special);
  if (opt.strip_space && impl_->spec.decode_strip_space && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

int Tokenizer::n_vocab() const { return int(impl_->spec.tokens.size()); }
const std::string& Tokenizer::token_text(TokenId id) const {
  if (id < 0 || id >= n_vocab()) fail("[tokenizer] token id {} out of range [0, {})", id, n_vocab());
  return impl_->spec.tokens[id];
}
TokenType Tokenizer::token_type(TokenId id) const {
  if (id < 0 || id >= n_vocab()) fail("[tokenizer] token id {} out of range [0, {})", id, n_vocab());
  return impl_->spec.types[id];
}
TokenId Tokenizer::find_token(std::string_view text) const { return impl_->lookup(text); }
ModelKind Tokenizer::kind() const { return impl_->spec.kind; }
const std::string& Tokenizer::pre() const { return impl_->spec.pre; }
TokenId Tokenizer::bos() const { return impl_->spec.bos; }
TokenId Tokenizer::eos() const { return impl_->spec.eos; }
TokenId Tokenizer::eot() const { return impl_->spec.eot; }
TokenId Tokenizer::unk() const { return impl_->spec.unk; }
TokenId Tokenizer::pad() const { return impl_->spec.pad; }
bool Tokenizer::add_bos() const { return impl_->spec.add_bos; }
bool Tokenizer::add_eos() const { return impl_->spec.add_eos; }
bool Tokenizer::is_eog(TokenId id) const {
  const TokenizerSpec& s = impl_->spec;
  if (id == kNoToken) return false;
  return id == s.eos || id == s.eot || std::find(s.eog.begin(), s.eog.end(), id) != s.eog.end();
}
const std::string& Tokenizer::chat_template() const { return impl_->spec.chat_template; }
const TokenizerSpec& Tokenizer::spec() const { return impl_->spec; }

std::string IncrementalDecoder::push(TokenId id) {
  std::string piece = tok_->token_to_piece(id, opt_.special);
  if (first_ && !piece.empty()) {
    if (opt_.strip_space && tok_->spec().decode_strip_space && piece[0] == ' ') piece.erase(0, 1);
    first_ = false;
  }
  pending_ += piece;
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = utf8_sanitize(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out = utf8_sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace slm::tok
