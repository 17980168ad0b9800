// Byte-level BPE training: word counting with the pre-tokenizer regex, then merges driven by a lazy
// max-heap of pair counts that each merge updates incrementally (only the words holding the pair are
// touched), so the cost per merge follows the pair's occurrences, not the corpus size.
#include "tokenizer/bpe_train.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/presets.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace slm::tok {

const std::vector<std::string>& bpe_default_specials() {
  static const std::vector<std::string> s = {"<|begin_of_text|>", "<|endoftext|>", "<|pad|>", "<|im_start|>",
                                             "<|im_end|>"};
  return s;
}

const std::vector<std::string>& bpe_pre_names() {
  static const std::vector<std::string> n = {"gpt2", "llama3", "qwen2"};
  return n;
}

namespace {

// The regex a training pre-tokenizer name stands for (the same one the written files name).
std::string pre_pattern(std::string_view pre) {
  if (pre == "gpt2") return kGpt2Pattern;
  if (pre == "llama3" || pre == "qwen2") return pre_steps_for(pre, nullptr).at(0).pattern;
  std::string known;
  for (const std::string& n : bpe_pre_names()) known += (known.empty() ? "" : ", ") + n;
  fail("[bpe-train] unknown pre-tokenizer '{}' (known: {})", pre, known);
}

void check_options(const BpeTrainOptions& o) {
  pre_pattern(o.pre);
  if (o.min_frequency < 1) fail("[bpe-train] min frequency must be >= 1, got {}", o.min_frequency);
  const std::array<std::string, 256>& alphabet = byte_to_unicode();
  for (size_t i = 0; i < o.specials.size(); ++i) {
    const std::string& s = o.specials[i];
    if (s.empty()) fail("[bpe-train] special token {} is empty", i);
    if (!utf8_valid(s)) fail("[bpe-train] special token {} is not valid UTF-8", i);
    if (std::find(o.specials.begin(), o.specials.begin() + i, s) != o.specials.begin() + i)
      fail("[bpe-train] special token '{}' is given twice", s);
    if (std::find(alphabet.begin(), alphabet.end(), s) != alphabet.end())
      fail("[bpe-train] special token '{}' is also a byte token", s);
  }
  for (const auto& [role, text] : {std::pair{"bos", &o.bos}, {"eos", &o.eos}, {"pad", &o.pad}})
    if (!text->empty() && std::find(o.specials.begin(), o.specials.end(), *text) == o.specials.end())
      fail("[bpe-train] {} token '{}' is not among the special tokens", role, *text);
  const int64_t floor = 256 + int64_t(o.specials.size());
  if (o.vocab_size < floor)
    fail("[bpe-train] vocab size {} is below 256 byte tokens + {} special tokens = {}", o.vocab_size,
         o.specials.size(), floor);
}

using WordCounts = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

// ---- merging ------------------------------------------------------------------------------------------

struct Word {
  std::vector<TokenId> syms;
  int64_t freq;
};

uint64_t pair_key(TokenId a, TokenId b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
TokenId pair_left(uint64_t k) { return TokenId(k >> 32); }
TokenId pair_right(uint64_t k) { return TokenId(uint32_t(k)); }

struct U64Hash {
  size_t operator()(uint64_t k) const {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return size_t(k);
  }
};

struct HeapItem {
  int64_t count;
  uint64_t pair;
};

class Merger {
 public:
  Merger(const WordCounts& counts, const BpeTrainOptions& opt);
  BpeVocab run();

 private:
  // True when x should be merged before y: higher count, then the lexicographically smaller
  // (left bytes, right bytes).
  bool before(const HeapItem& x, const HeapItem& y) const {
    if (x.count != y.count) return x.count > y.count;
    const std::string &xl = bytes_[pair_left(x.pair)], &yl = bytes_[pair_left(y.pair)];
    if (xl != yl) return xl < yl;
    return bytes_[pair_right(x.pair)] < bytes_[pair_right(y.pair)];
  }
  void push(HeapItem it) {
    heap_.push_back(it);
    std::push_heap(heap_.begin(), heap_.end(), [this](const HeapItem& a, const HeapItem& b) { return before(b, a); });
  }
  HeapItem pop() {
    std::pop_heap(heap_.begin(), heap_.end(), [this](const HeapItem& a, const HeapItem& b) { return before(b, a); });
    const HeapItem it = heap_.back();
    heap_.pop_back();
    return it;
  }
  void change(uint64_t pair, int64_t delta, uint32_t word, TokenId fresh);
  void merge_word(uint32_t w, TokenId a, TokenId b, TokenId c);

  const BpeTrainOptions& opt_;
  std::vector<Word> words_;
  std::vector<std::string> bytes_;  // id -> raw bytes (specials: their text)
  std::unordered_map<std::string, TokenId> by_bytes_;  // non-special tokens
  std::unordered_map<uint64_t, int64_t, U64Hash> counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>, U64Hash> where_;  // pair -> words that may hold it
  std::vector<HeapItem> heap_;
  std::vector<uint64_t> grown_;  // pairs whose count rose during the current merge
};

Merger::Merger(const WordCounts& counts, const BpeTrainOptions& opt) : opt_(opt) {
  for (const std::string& s : opt.specials) bytes_.push_back(s);
  const TokenId first_byte = TokenId(bytes_.size());
  for (int b = 0; b < 256; ++b) {
    bytes_.emplace_back(1, char(b));
    by_bytes_.emplace(bytes_.back(), TokenId(bytes_.size() - 1));
  }
  // Sorted words: the merge order does not depend on it, but memory and iteration order then do not
  // depend on the hash map either.
  std::vector<const WordCounts::value_type*> sorted;
  sorted.reserve(counts.size());
  for (const auto& kv : counts) sorted.push_back(&kv);
  std::sort(sorted.begin(), sorted.end(), [](auto* x, auto* y) { return x->first < y->first; });
  words_.reserve(sorted.size());
  for (const auto* kv : sorted) {
    Word w{{}, kv->second};
    w.syms.reserve(kv->first.size());
    for (char ch : kv->first) w.syms.push_back(first_byte + uint8_t(ch));
    words_.push_back(std::move(w));
  }
  for (uint32_t wi = 0; wi < words_.size(); ++wi) {
    const Word& w = words_[wi];
    for (size_t i = 0; i + 1 < w.syms.size(); ++i) {
      const uint64_t p = pair_key(w.syms[i], w.syms[i + 1]);
      counts_[p] += w.freq;
      std::vector<uint32_t>& list = where_[p];
      if (list.empty() || list.back() != wi) list.push_back(wi);
    }
  }
  heap_.reserve(counts_.size());
  for (const auto& [p, n] : counts_) push({n, p});
}

void Merger::change(uint64_t pair, int64_t delta, uint32_t word, TokenId fresh) {
  int64_t& n = counts_[pair];
  n += delta;
  if (delta > 0) {
    grown_.push_back(pair);
    if (pair_left(pair) == fresh || pair_right(pair) == fresh) {
      std::vector<uint32_t>& list = where_[pair];
      if (list.empty() || list.back() != word) list.push_back(word);
    }
  }
}

// Replaces every non-overlapping (a, b), left to right, by c in word w and updates the neighbouring pairs.
void Merger::merge_word(uint32_t w, TokenId a, TokenId b, TokenId c) {
  std::vector<TokenId>& s = words_[w].syms;
  const int64_t f = words_[w].freq;
  const size_t n = s.size();
  size_t j = 0;
  for (size_t i = 0; i < n;) {
    if (i + 1 < n && s[i] == a && s[i + 1] == b) {
      if (j > 0) {
        change(pair_key(s[j - 1], a), -f, w, c);
        change(pair_key(s[j - 1], c), f, w, c);
      }
      if (i + 2 < n) {
        change(pair_key(b, s[i + 2]), -f, w, c);
        change(pair_key(c, s[i + 2]), f, w, c);
      }
      s[j++] = c;
      i += 2;
    } else {
      s[j++] = s[i++];
    }
  }
  s.resize(j);
}

BpeVocab Merger::run() {
  BpeVocab v;
  v.pre = opt_.pre;
  v.n_special = int(opt_.specials.size());
  std::vector<std::pair<TokenId, TokenId>> merges;
  int last_report = 0;
  while (int(bytes_.size()) < opt_.vocab_size && !heap_.empty()) {
    const HeapItem top = pop();
    const auto it = counts_.find(top.pair);
    const int64_t now = it == counts_.end() ? 0 : it->second;
    if (now != top.count) {  // stale: the pair lost occurrences since it was pushed
      if (now > 0) push({now, top.pair});
      continue;
    }
    if (now < opt_.min_frequency) break;
    const TokenId a = pair_left(top.pair), b = pair_right(top.pair);
    std::string joined = bytes_[a] + bytes_[b];
    if (std::find(opt_.specials.begin(), opt_.specials.end(), joined) != opt_.specials.end()) {
      counts_.erase(top.pair);  // would duplicate a special token's text: never merged
      continue;
    }
    TokenId c;
    if (auto found = by_bytes_.find(joined); found != by_bytes_.end()) {
      c = found->second;
    } else {
      c = TokenId(bytes_.size());
      by_bytes_.emplace(joined, c);
      bytes_.push_back(std::move(joined));
    }
    merges.emplace_back(a, b);
    std::vector<uint32_t> list = std::move(where_[top.pair]);
    where_.erase(top.pair);
    grown_.clear();
    for (uint32_t w : list) merge_word(w, a, b, c);
    counts_.erase(top.pair);
    std::sort(grown_.begin(), grown_.end());
    grown_.erase(std::unique(grown_.begin(), grown_.end()), grown_.end());
    for (uint64_t p : grown_)
      if (const int64_t n = counts_[p]; n > 0 && p != top.pair) push({n, p});
    if (opt_.progress && (int(bytes_.size()) - last_report >= 256 || int(bytes_.size()) == opt_.vocab_size)) {
      last_report = int(bytes_.size());
      opt_.progress(last_report, opt_.vocab_size);
    }
  }
  v.tokens.reserve(bytes_.size());
  for (size_t id = 0; id < bytes_.size(); ++id)
    v.tokens.push_back(int(id) < v.n_special ? bytes_[id] : bytes_to_byte_level(bytes_[id]));
  v.merges.reserve(merges.size());
  for (const auto& [a, b] : merges) v.merges.emplace_back(v.tokens[a], v.tokens[b]);
  auto id_of = [&](const std::string& text) {
    if (text.empty()) return kNoToken;
    return TokenId(std::find(opt_.specials.begin(), opt_.specials.end(), text) - opt_.specials.begin());
  };
  v.bos = id_of(opt_.bos), v.eos = id_of(opt_.eos), v.pad = id_of(opt_.pad);
  const auto& sp = opt_.specials;
  if (std::find(sp.begin(), sp.end(), "<|im_start|>") != sp.end() &&
      std::find(sp.begin(), sp.end(), "<|im_end|>") != sp.end())
    v.chat_template =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
        "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
        "{% endif %}";
  return v;
}

}  // namespace

// ---- counting -----------------------------------------------------------------------------------------

struct BpeTrainer::State {
  BpeTrainOptions opt;
  SplitStep split;
  WordCounts counts;
  BpeCorpusStats stats;
  std::vector<std::pair<uint32_t, uint32_t>> pieces;  // scratch
  void add_segment(std::string_view text);
};

void BpeTrainer::State::add_segment(std::string_view text) {
  if (text.empty()) return;
  pieces.assign(1, {0u, uint32_t(text.size())});
  split_pieces(text, split, pieces);
  for (const auto& [b, e] : pieces) {
    const std::string_view w = text.substr(b, e - b);
    if (w.empty()) continue;
    ++stats.words;
    if (auto it = counts.find(w); it != counts.end()) ++it->second;
    else counts.emplace(std::string(w), 1);
  }
}

BpeTrainer::BpeTrainer(BpeTrainOptions opt) : st_(std::make_unique<State>()) {
  check_options(opt);
  st_->split.regex = Regex(pre_pattern(opt.pre));
  st_->opt = std::move(opt);
}
BpeTrainer::~BpeTrainer() = default;
BpeTrainer::BpeTrainer(BpeTrainer&&) noexcept = default;
BpeTrainer& BpeTrainer::operator=(BpeTrainer&&) noexcept = default;

void BpeTrainer::add_text(std::string_view text) {
  std::string clean;
  if (!utf8_valid(text)) {
    clean = utf8_sanitize(text);
    text = clean;
  }
  st_->stats.bytes += text.size();
  // Special-token texts are cut out: they are matched whole at encode time, never merged into. next[k]
  // caches where special k occurs next, so the text is scanned once per special, not once per hit.
  const std::vector<std::string>& specials = st_->opt.specials;
  std::vector<size_t> next(specials.size());
  for (size_t k = 0; k < specials.size(); ++k) next[k] = text.find(specials[k]);
  size_t from = 0;
  while (from < text.size()) {
    size_t hit = std::string_view::npos, len = 0;
    for (size_t k = 0; k < specials.size(); ++k) {
      if (next[k] != std::string_view::npos && next[k] < from) next[k] = text.find(specials[k], from);
      const size_t p = next[k];
      if (p == std::string_view::npos) continue;
      if (p < hit || (p == hit && specials[k].size() > len)) hit = p, len = specials[k].size();
    }
    if (hit == std::string_view::npos) break;
    st_->add_segment(text.substr(from, hit - from));
    from = hit + len;
  }
  st_->add_segment(text.substr(from));
}

namespace {

constexpr size_t kBlock = size_t(4) << 20;

// Where a text block may be cut: after the last newline that a non-space follows, so that no word
// (not even a run of blank lines) is split; 0 when there is none.
size_t block_cut(std::string_view buf) {
  for (size_t p = buf.rfind('\n'); p != std::string_view::npos && p > 0; p = buf.rfind('\n', p - 1)) {
    if (p + 1 < buf.size() && std::string_view(" \t\r\n\v\f").find(buf[p + 1]) == std::string_view::npos) return p + 1;
  }
  return 0;
}

void add_jsonl(BpeTrainer& t, std::ifstream& in, const std::string& path, const std::string& field) {
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("[bpe-train] {}:{}: not JSON: {}", path, n, e.what());
    }
    if (!j.is_object()) fail("[bpe-train] {}:{}: expected a JSON object", path, n);
    auto it = j.find(field);
    if (it == j.end() || !it->is_string()) fail("[bpe-train] {}:{}: no string field '{}'", path, n, field);
    t.add_text(it->get_ref<const std::string&>());
  }
}

}  // namespace

void BpeTrainer::add_file(const std::string& path, const std::string& jsonl_field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[bpe-train] cannot open '{}'", path);
  if (!jsonl_field.empty()) return add_jsonl(*this, in, path, jsonl_field);
  std::string buf;
  std::vector<char> block(kBlock);
  while (in) {
    in.read(block.data(), std::streamsize(block.size()));
    buf.append(block.data(), size_t(in.gcount()));
    if (buf.size() < kBlock) continue;
    size_t cut = block_cut(buf);
    if (cut == 0 && buf.size() >= 4 * kBlock) {  // one huge line: cut at a character boundary
      cut = buf.size() - 1;
      while (cut > 0 && (uint8_t(buf[cut]) & 0xC0) == 0x80) --cut;
    }
    if (cut == 0) continue;
    add_text(std::string_view(buf).substr(0, cut));
    buf.erase(0, cut);
  }
  if (in.bad()) fail("[bpe-train] read error in '{}'", path);
  add_text(buf);
}

BpeCorpusStats BpeTrainer::stats() const {
  BpeCorpusStats s = st_->stats;
  s.distinct = st_->counts.size();
  return s;
}

BpeVocab BpeTrainer::train() const {
  if (st_->counts.empty()) fail("[bpe-train] empty corpus: the inputs hold no text");
  return Merger(st_->counts, st_->opt).run();
}

}  // namespace slm::tok
