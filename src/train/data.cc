// JSONL and plain-text loading with loss masks; every bad record is reported with file:line.
#include "train/data.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace slm::train {
namespace {

using Ids = std::vector<int32_t>;
using json = nlohmann::ordered_json;

void append(Ids& ids, std::vector<float>& w, const Ids& part, float weight) {
  ids.insert(ids.end(), part.begin(), part.end());
  w.insert(w.end(), part.size(), weight);
}

Ids encode(const tok::Tokenizer& tok, const std::string& text, bool special) {
  tok::EncodeOptions o;
  o.add_special = false;
  o.parse_special = special;
  return tok.encode(text, o);
}

// {"messages"}: renders growing prefixes so that each assistant turn's text (and only it) gets weight 1.
void chat_record(const json& msgs, const tok::Tokenizer& tok, const ChatTemplate& chat, Ids& ids,
                 std::vector<float>& w) {
  if (!msgs.is_array() || msgs.empty()) fail("\"messages\" must be a non-empty array");
  std::string done;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (!msgs[i].is_object() || !msgs[i].contains("role")) fail("message {} has no role", i);
    const bool assistant = msgs[i]["role"] == "assistant";
    json upto = json::array();
    for (size_t j = 0; j <= i; ++j) upto.push_back(msgs[j]);
    if (assistant) {  // the prompt up to the generation prompt carries no loss
      json before = json::array();
      for (size_t j = 0; j < i; ++j) before.push_back(msgs[j]);
      const std::string head = chat.render(before, true);
      if (head.compare(0, done.size(), done) != 0) fail("chat template output is not prefix-stable at turn {}", i);
      append(ids, w, encode(tok, head.substr(done.size()), true), 0.0f);
      done = head;
    }
    const std::string full = chat.render(upto, false);
    if (full.compare(0, done.size(), done) != 0) fail("chat template output is not prefix-stable at turn {}", i);
    append(ids, w, encode(tok, full.substr(done.size()), true), assistant ? 1.0f : 0.0f);
    done = full;
  }
}

void record(const json& j, const tok::Tokenizer& tok, const DataOptions& opt, Ids& ids, std::vector<float>& w) {
  if (!j.is_object()) fail("record is not a JSON object");
  if (j.contains("messages")) {
    if (!opt.chat) fail("{{\"messages\"}} record but the model has no chat template");
    chat_record(j["messages"], tok, *opt.chat, ids, w);
    return;
  }
  if (tok.add_bos() && tok.bos() >= 0) append(ids, w, {tok.bos()}, 0.0f);
  if (j.contains("prompt") || j.contains("completion")) {
    if (!j.value("prompt", json()).is_string() || !j.value("completion", json()).is_string())
      fail("\"prompt\" and \"completion\" must both be strings");
    append(ids, w, encode(tok, j["prompt"].get<std::string>(), false), 0.0f);
    append(ids, w, encode(tok, j["completion"].get<std::string>(), false), 1.0f);
  } else if (j.contains("text")) {
    if (!j["text"].is_string()) fail("\"text\" must be a string");
    append(ids, w, encode(tok, j["text"].get<std::string>(), false), 1.0f);
  } else {
    fail("record has none of \"prompt\"/\"completion\", \"messages\" or \"text\"");
  }
  if (tok.eos() >= 0) append(ids, w, {tok.eos()}, 1.0f);
}

// Cuts ids into windows of seq_len + 1 tokens (one token of overlap so every target is predicted once).
void pack_windows(const Ids& ids, const std::vector<float>& w, int seq_len, std::vector<Sequence>& out) {
  const size_t win = size_t(seq_len) + 1;
  for (size_t b = 0; b + 1 < ids.size(); b += win - 1) {
    const size_t e = std::min(ids.size(), b + win);
    out.push_back(make_sequence(Ids(ids.begin() + long(b), ids.begin() + long(e)),
                                std::vector<float>(w.begin() + long(b), w.begin() + long(e))));
  }
}

}  // namespace

size_t Dataset::n_tokens() const {
  size_t n = 0;
  for (const Sequence& s : seqs) n += s.tokens.size();
  return n;
}

size_t Dataset::n_loss_tokens() const {
  size_t n = 0;
  for (const Sequence& s : seqs)
    for (float w : s.weights) n += w > 0;
  return n;
}

Sequence make_sequence(const std::vector<int32_t>& ids, const std::vector<float>& weights) {
  Sequence s;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    s.tokens.push_back(ids[i]);
    s.targets.push_back(ids[i + 1]);
    s.weights.push_back(weights[i + 1]);
  }
  return s;
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, uint64_t epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(seed * 0x9e3779b97f4a7c15ull + epoch + 1);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

Dataset load_data(const std::string& path, const tok::Tokenizer& tok, const DataOptions& opt) {
  if (opt.seq_len < 2) fail("[train] sequence length must be at least 2, got {}", opt.seq_len);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[train] cannot open data file '{}'", path);
  Dataset ds;
  const bool jsonl = path.ends_with(".jsonl") || path.ends_with(".json");
  if (!jsonl) {  // plain text for pretraining: one stream, packed
    std::stringstream ss;
    ss << in.rdbuf();
    Ids ids = encode(tok, ss.str(), false);
    if (tok.add_bos() && tok.bos() >= 0) ids.insert(ids.begin(), tok.bos());
    pack_windows(ids, std::vector<float>(ids.size(), 1.0f), opt.seq_len, ds.seqs);
    ds.n_records = 1;
    return ds;
  }
  Ids packed;
  std::vector<float> packed_w;
  std::string line;
  for (size_t ln = 1; std::getline(in, line); ++ln) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++ds.n_records;
    Ids ids;
    std::vector<float> w;
    try {
      record(json::parse(line), tok, opt, ids, w);
      if (ids.size() < 2) fail("record has fewer than 2 tokens");
      bool any = false;
      for (float x : w) any |= x > 0;
      if (!any) fail("record has no tokens that carry loss");
    } catch (const std::exception& e) {  // json::parse_error or slm::Error
      const std::string why = fmt::format("{}:{}: {}", path, ln, e.what());
      if (opt.strict) fail("[train] {}", why);
      ds.problems.push_back("skipped " + why);
      ++ds.n_skipped;
      continue;
    }
    if (opt.pack) {
      append(packed, packed_w, ids, 0.0f);
      std::copy(w.begin(), w.end(), packed_w.end() - long(w.size()));
      continue;
    }
    if (ids.size() > size_t(opt.seq_len) + 1) {
      ds.problems.push_back(fmt::format("truncated {}:{}: {} tokens to {}", path, ln, ids.size(), opt.seq_len + 1));
      ids.resize(size_t(opt.seq_len) + 1), w.resize(ids.size());
    }
    ds.seqs.push_back(make_sequence(ids, w));
  }
  if (opt.pack) pack_windows(packed, packed_w, opt.seq_len, ds.seqs);
  return ds;
}

}  // namespace slm::train
