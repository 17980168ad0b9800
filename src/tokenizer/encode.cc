// Encoding: added-token splitting, normalisation, pre-tokenization, and the three models
// (score- or rank-driven merges with byte fallback, and WordPiece).
#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace slm::tok {

namespace {

void replace_in(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t at = 0;
  for (size_t p; (p = s.find(from, at)) != std::string::npos; at = p + from.size()) {
    out.append(s, at, p - at);
    out.append(to);
  }
  out.append(s, at);
  s.swap(out);
}

// BERT text cleaning: drop NUL, U+FFFD and control characters; any whitespace becomes ' '.
std::string bert_clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const int n = utf8_decode(s, i, &cp);
    if (is_whitespace(cp)) out += ' ';
    else if (cp != 0 && cp != 0xFFFD && !is_control(cp)) out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string bert_cjk(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const int n = utf8_decode(s, i, &cp);
    if (is_cjk_ideograph(cp)) out.append(" ").append(s.substr(i, n)).append(" ");
    else out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

void apply_normalizers(const std::vector<NormStep>& steps, bool first, std::string& s) {
  for (const NormStep& st : steps) {
    switch (st.kind) {
      case NormStep::Kind::nfc: s = normalize(s, NormalForm::nfc); break;
      case NormStep::Kind::nfd: s = normalize(s, NormalForm::nfd); break;
      case NormStep::Kind::nfkc: s = normalize(s, NormalForm::nfkc); break;
      case NormStep::Kind::nfkd: s = normalize(s, NormalForm::nfkd); break;
      case NormStep::Kind::lowercase: s = to_lower(s); break;
      case NormStep::Kind::strip_accents: s = strip_accents(s); break;
      case NormStep::Kind::fold_to_base: s = fold_to_base(s); break;
      case NormStep::Kind::prepend:
        if (!s.empty()) s.insert(0, st.a);
        break;
      case NormStep::Kind::prepend_first:
        if (!s.empty() && first && !s.starts_with(st.a)) s.insert(0, st.a);
        break;
      case NormStep::Kind::replace: replace_in(s, st.a, st.b); break;
      case NormStep::Kind::bert_clean: s = bert_clean(s); break;
      case NormStep::Kind::bert_cjk: s = bert_cjk(s); break;
    }
  }
}

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

// BERT's basic split: whitespace separates words; punctuation, ASCII symbols and CJK ideographs stand alone.
void bert_split(std::string_view text, Ranges& pieces) {
  Ranges out;
  char32_t cp;
  for (const auto& [pb, pe] : pieces) {
    uint32_t word = pb;
    for (uint32_t i = pb; i < pe;) {
      const int n = utf8_decode(text, i, &cp);
      const bool ws = is_whitespace(cp);
      const bool alone = !ws && (is_punctuation(cp) || (cp < 0x7F && is_symbol(cp)) || is_cjk_ideograph(cp));
      if (ws || alone) {
        if (i > word) out.emplace_back(word, i);
        if (alone) out.emplace_back(i, i + n);
        word = i + n;
      }
      i += n;
    }
    if (pe > word) out.emplace_back(word, pe);
  }
  pieces.swap(out);
}

struct Symbol {
  TokenId id;
  uint32_t b, e;  // byte range in the piece
  int32_t prev, next;
};

struct Candidate {
  int32_t rank, left, right;
  TokenId lid, rid, result;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
};

struct Scratch {
  std::vector<Symbol> syms;
  std::vector<Candidate> heap;
  std::string text;
  Ranges pieces;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void Tokenizer::Impl::merge_symbols(std::string_view piece, std::vector<TokenId>& out) const {
  Scratch& sc = scratch();
  auto& syms = sc.syms;
  auto& heap = sc.heap;
  syms.clear();
  heap.clear();
  if (spec.byte_level) {
    for (uint32_t i = 0; i < piece.size(); ++i)
      syms.push_back({byte_token[uint8_t(piece[i])], i, i + 1, int32_t(i) - 1, int32_t(i) + 1});
  } else {
    for (uint32_t i = 0; i < piece.size();) {
      const uint8_t c = uint8_t(piece[i]);
      const uint32_t n = std::min<uint32_t>(utf8_lead_len(c), uint32_t(piece.size() - i));
      const int32_t k = int32_t(syms.size());
      TokenId id;
      if (c < 0x80) id = ascii_token[c];
      else if (n == 3 && piece.compare(i, 3, "\xE2\x96\x81") == 0) id = space_marker;
      else id = lookup(piece.substr(i, n));
      syms.push_back({id, i, i + n, k - 1, k + 1});
      i += n;
    }
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  auto consider = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const TokenId a = syms[l].id, b = syms[r].id;
    if (a == kNoToken || b == kNoToken) return;
    if (const MergeTable::Entry* e = merges.find(a, b)) {
      heap.push_back({e->rank, l, r, a, b, e->result});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int32_t i = 0; i + 1 < int32_t(syms.size()); ++i) consider(i, i + 1);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& L = syms[c.left];
    if (L.next != c.right || L.id != c.lid || syms[c.right].id != c.rid) continue;  // stale
    Symbol& R = syms[c.right];
    L.id = c.result;
    L.e = R.e;
    L.next = R.next;
    if (R.next >= 0) syms[R.next].prev = c.left;
    R.id = kNoToken;
    R.next = -2;  // dead
    consider(L.prev, c.left);
    consider(c.left, L.next);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const Symbol& s = syms[i];
    if (s.id != kNoToken) {
      out.push_back(s.id);
    } else if (spec.byte_fallback || spec.byte_level) {
      for (uint32_t k = s.b; k < s.e; ++k) {
        const TokenId t = byte_token[uint8_t(piece[k])];
        if (t != kNoToken) out.push_back(t);
        else if (spec.unk != kNoToken) out.push_back(spec.unk);
      }
    } else if (spec.unk != kNoToken) {
      out.push_back(spec.unk);
    }
  }
}

void Tokenizer::Impl::wordpiece_word(std::string_view word, std::vector<TokenId>& out) const {
  const size_t start = out.size();
  bool first = true;
  for (size_t i = 0; i < word.size();) {
    const TokenMap& map = first ? wp_start : wp_cont;
    bool found = false;
    for (size_t j = std::min(word.size(), i + max_token_len); j > i; --j) {
      auto it = map.find(word.substr(i, j - i));
      if (it != map.end()) {
        out.push_back(it->second);
        i = j;
        found = true;
        break;
      }
    }
    if (!found) {
      out.resize(start);
      if (spec.unk != kNoToken) out.push_back(spec.unk);
      return;
    }
    first = false;
  }
}

namespace {

// Per-thread cache of recent pieces (words) and their ids, for the tokenizer with the given serial.
struct PieceCache {
  uint64_t serial = 0;
  std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> map;
};

PieceCache& piece_cache(uint64_t serial) {
  thread_local PieceCache c;
  if (c.serial != serial || c.map.size() > 65536) {
    c.map.clear();
    c.serial = serial;
  }
  return c;
}

constexpr size_t kMaxCachedPiece = 48;

}  // namespace

void Tokenizer::Impl::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
  if (piece.empty()) return;
  // Pre-tokenized pieces are words: most repeat, so their ids are cached (a whole-text SPM piece is not).
  if (piece.size() <= kMaxCachedPiece && (!splits.empty() || spm_words)) {
    PieceCache& cache = piece_cache(serial);
    if (auto it = cache.map.find(piece); it != cache.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
    const size_t start = out.size();
    encode_piece_uncached(piece, out);
    cache.map.emplace(std::string(piece), std::vector<TokenId>(out.begin() + start, out.end()));
    return;
  }
  encode_piece_uncached(piece, out);
}

void Tokenizer::Impl::encode_piece_uncached(std::string_view piece, std::vector<TokenId>& out) const {
  if (spec.kind == ModelKind::wordpiece) return wordpiece_word(piece, out);
  if (spec.ignore_merges) {
    const TokenId whole = spec.byte_level ? lookup(bytes_to_byte_level(piece)) : lookup(piece);
    if (whole != kNoToken) {
      out.push_back(whole);
      return;
    }
  }
  merge_symbols(piece, out);
}

void Tokenizer::Impl::encode_fragment(std::string_view frag, bool first, std::vector<TokenId>& out) const {
  if (frag.empty()) return;
  std::string text(frag);
  apply_normalizers(spec.normalizers, first, text);
  if (text.empty()) return;
  Ranges pieces{{0u, uint32_t(text.size())}};
  for (size_t k = 0; k < splits.size(); ++k) {
    if (spec.pre_steps[k].kind == PreStep::Kind::bert) bert_split(text, pieces);
    else split_pieces(text, splits[k], pieces);
  }
  std::string_view tv(text);
  if (spm_words) {
    // Cut before each U+2581 that follows another character (see spm_words).
    constexpr std::string_view sp = "\xE2\x96\x81";
    size_t start = 0;
    for (size_t p = tv.find(sp, 1); p != std::string_view::npos; p = tv.find(sp, p + sp.size())) {
      if (p >= sp.size() && tv.compare(p - sp.size(), sp.size(), sp) == 0) continue;  // a run of U+2581
      encode_piece(tv.substr(start, p - start), out);
      start = p;
    }
    encode_piece(tv.substr(start), out);
    return;
  }
  for (const auto& [b, e] : pieces) encode_piece(tv.substr(b, e - b), out);
}

std::vector<TokenId> Tokenizer::encode(std::string_view input, EncodeOptions opt) const {
  const Impl& m = *impl_;
  const TokenizerSpec& s = m.spec;
  std::string clean;
  if (!utf8_valid(input)) {
    clean = utf8_sanitize(input);
    input = clean;
  }
  std::vector<TokenId> out;
  out.reserve(input.size() / 3 + 4);
  if (opt.add_special && s.add_bos && s.bos != kNoToken) out.push_back(s.bos);

  // Added tokens: at each position the longest eligible one wins; special ones only with parse_special.
  size_t frag = 0;
  bool any_added = false;
  for (const AddedToken& a : m.added) any_added |= opt.parse_special || !a.special;
  for (size_t p = 0; any_added && p < input.size();) {
    const auto [lo, hi] = m.added_by_byte[uint8_t(input[p])];
    const AddedToken* hit = nullptr;
    for (uint32_t k = lo; k < hi; ++k) {
      const AddedToken& a = m.added[k];
      if (a.special && !opt.parse_special) continue;
      if (input.compare(p, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    }
    if (!hit) {
      ++p;
      continue;
    }
    size_t left_end = p;
    if (hit->lstrip)
      while (left_end > frag && (input[left_end - 1] == ' ' || input[left_end - 1] == '\t' ||
                                 input[left_end - 1] == '\n' || input[left_end - 1] == '\r'))
        --left_end;
    m.encode_fragment(input.substr(frag, left_end - frag), frag == 0, out);
    out.push_back(hit->id);
    p += hit->content.size();
    if (hit->rstrip)
      while (p < input.size() && (input[p] == ' ' || input[p] == '\t' || input[p] == '\n' || input[p] == '\r')) ++p;
    frag = p;
  }
  m.encode_fragment(input.substr(frag), frag == 0, out);
  if (opt.add_special && s.add_eos && s.eos != kNoToken) out.push_back(s.eos);
  return out;
}

}  // namespace slm::tok
