// PCRE2 wrapper for pre-tokenizer patterns (\p{L}, \p{N}, lookaheads, (?i:...)) and the Split behaviours.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "core/error.h"

namespace slm::tok {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern, bool literal) : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK;
  if (literal) opts = PCRE2_UTF | PCRE2_LITERAL;
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), opts, &err,
                                &err_off, nullptr);
  if (!c) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("[tokenizer] bad regex '{}' at offset {}: {}", pattern, size_t(err_off), reinterpret_cast<char*>(msg));
  }
  pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
  code_ = std::make_shared<Code>();
  code_->code = c;
}

namespace {

// Per-thread match state: match data and a JIT stack large enough for long whitespace runs.
struct MatchState {
  pcre2_match_data* md = pcre2_match_data_create(4, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  MatchState() { pcre2_jit_stack_assign(ctx, nullptr, stack); }
  ~MatchState() {
    pcre2_match_context_free(ctx);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(md);
  }
};

MatchState& match_state() {
  thread_local MatchState st;
  return st;
}

}  // namespace

void Regex::find_all(std::string_view s, std::vector<std::pair<uint32_t, uint32_t>>& out) const {
  if (!code_) return;
  MatchState& st = match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t pos = 0;
  while (pos <= s.size()) {
    const int rc = pcre2_match(code_->code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, st.md, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      fail("[tokenizer] regex '{}' failed at byte {}: {}", pattern_, pos, reinterpret_cast<char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
    const size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(uint32_t(b), uint32_t(e));
      pos = e;
    } else {
      // Empty match: step over one whole code point.
      if (b >= s.size()) break;
      size_t next = b + 1;
      while (next < s.size() && (uint8_t(s[next]) & 0xC0) == 0x80) ++next;
      pos = next;
    }
  }
}

void split_pieces(std::string_view text, const SplitStep& step, std::vector<std::pair<uint32_t, uint32_t>>& pieces) {
  std::vector<std::pair<uint32_t, uint32_t>> out, matches;
  struct Seg {
    uint32_t b, e;
    bool match;
  };
  std::vector<Seg> segs;
  out.reserve(pieces.size() * 2);
  for (const auto& [pb, pe] : pieces) {
    matches.clear();
    step.regex.find_all(text.substr(pb, pe - pb), matches);
    segs.clear();
    uint32_t at = pb;
    for (auto [mb, me] : matches) {
      mb += pb, me += pb;
      if (mb > at) segs.push_back({at, mb, false});
      segs.push_back({mb, me, true});
      at = me;
    }
    if (at < pe) segs.push_back({at, pe, false});
    if (step.invert)
      for (Seg& s : segs) s.match = !s.match;
    switch (step.behavior) {
      case PreStep::Behavior::isolated:
        for (const Seg& s : segs) out.emplace_back(s.b, s.e);
        break;
      case PreStep::Behavior::removed:
        for (const Seg& s : segs)
          if (!s.match) out.emplace_back(s.b, s.e);
        break;
      case PreStep::Behavior::merged_with_previous: {
        // A match joins the piece before it.
        size_t first = out.size();
        for (const Seg& s : segs) {
          if (s.match && out.size() > first) out.back().second = s.e;
          else out.emplace_back(s.b, s.e);
        }
        break;
      }
      case PreStep::Behavior::merged_with_next: {
        // A match starts the piece after it.
        bool pending = false;
        for (const Seg& s : segs) {
          if (pending) {
            out.back().second = s.e;
            pending = s.match;
          } else {
            out.emplace_back(s.b, s.e);
            pending = s.match;
          }
        }
        break;
      }
      case PreStep::Behavior::contiguous: {
        bool prev_match = false;
        size_t first = out.size();
        for (const Seg& s : segs) {
          if (s.match && prev_match && out.size() > first) out.back().second = s.e;
          else out.emplace_back(s.b, s.e);
          prev_match = s.match;
        }
        break;
      }
    }
  }
  pieces.swap(out);
}

}  // namespace slm::tok
