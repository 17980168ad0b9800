// UTF-8 helpers and Unicode properties for the tokenizers, all derived from utf8proc.
#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <cstdlib>

#include "core/error.h"

namespace slm::tok {

int utf8_decode(std::string_view s, size_t i, char32_t* cp) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  const size_t left = s.size() - i;
  const uint8_t c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  int n;
  char32_t v, min;
  if ((c >> 5) == 0x6) n = 2, v = c & 0x1F, min = 0x80;
  else if ((c >> 4) == 0xE) n = 3, v = c & 0x0F, min = 0x800;
  else if ((c >> 3) == 0x1E) n = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (left < size_t(n)) return 0;
  for (int k = 1; k < n; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (p[k] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}


bool utf8_valid(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    if (uint8_t(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const int n = utf8_decode(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const int n = utf8_decode(s, i, &cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view s) {
  // An unfinished tail is a lead byte C2..F4 followed by fewer continuation bytes than it announces,
  // each of them allowed at its place (so that the sequence could still become well-formed).
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const uint8_t c = uint8_t(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;
    if (c < 0xC2 || c > 0xF4 || utf8_lead_len(c) <= int(back)) return n;
    for (size_t k = 1; k < back; ++k) {
      const uint8_t d = uint8_t(s[n - back + k]);
      uint8_t lo = 0x80, hi = 0xBF;
      if (k == 1 && c == 0xE0) lo = 0xA0;
      if (k == 1 && c == 0xED) hi = 0x9F;
      if (k == 1 && c == 0xF0) lo = 0x90;
      if (k == 1 && c == 0xF4) hi = 0x8F;
      if (d < lo || d > hi) return n;
    }
    return n - back;
  }
  return n;
}

namespace {

std::string map_utf8(std::string_view s, int options) {
  utf8proc_uint8_t* dst = nullptr;
  const auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()),
                                &dst, utf8proc_option_t(options));
  if (len < 0) fail("[tokenizer] unicode normalisation failed: {}", utf8proc_errmsg(len));
  std::string out(reinterpret_cast<const char*>(dst), size_t(len));
  std::free(dst);
  return out;
}

int category(char32_t c) { return utf8proc_category(utf8proc_int32_t(c)); }

}  // namespace

std::string normalize(std::string_view s, NormalForm form) {
  if (s.empty()) return {};
  bool ascii = true;
  for (char c : s) ascii &= uint8_t(c) < 0x80;
  if (ascii) return std::string(s);  // every normal form leaves ASCII alone
  int opt = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::nfc: opt |= UTF8PROC_COMPOSE; break;
    case NormalForm::nfd: opt |= UTF8PROC_DECOMPOSE; break;
    case NormalForm::nfkc: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalForm::nfkd: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  return map_utf8(s, opt);
}

char32_t lower_cp(char32_t c) { return char32_t(utf8proc_tolower(utf8proc_int32_t(c))); }

char32_t base_cp(char32_t c) {
  if (c < 0xC0 || (c >= 0xAC00 && c <= 0xD7A3)) return c;
  utf8proc_int32_t buf[8];
  int last = 0;
  const auto n = utf8proc_decompose_char(utf8proc_int32_t(c), buf, 8, UTF8PROC_DECOMPOSE, &last);
  return n >= 1 ? char32_t(buf[0]) : c;
}

namespace {

// Rewrites s one code point at a time: emit(out, cp, raw) appends what cp (whose bytes are raw) becomes;
// bytes that are not valid UTF-8 are copied unchanged.
template <typename Emit>
std::string rewrite_code_points(std::string_view s, Emit emit) {
  std::string out;
  out.reserve(s.size());
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const int n = utf8_decode(s, i, &cp);
    if (n == 0) {
      out += s[i++];
      continue;
    }
    emit(out, cp, s.substr(i, size_t(n)));
    i += size_t(n);
  }
  return out;
}

}  // namespace

std::string fold_to_base(std::string_view s) {
  return rewrite_code_points(s, [](std::string& out, char32_t cp, std::string_view) { utf8_append(out, base_cp(cp)); });
}

std::string to_lower(std::string_view s) {
  return rewrite_code_points(s, [](std::string& out, char32_t cp, std::string_view) { utf8_append(out, lower_cp(cp)); });
}

std::string strip_accents(std::string_view s) {
  return rewrite_code_points(normalize(s, NormalForm::nfd), [](std::string& out, char32_t cp, std::string_view raw) {
    if (!is_mark_nonspacing(cp)) out.append(raw);
  });
}

bool is_letter(char32_t c) {
  const int k = category(c);
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}
bool is_number(char32_t c) {
  const int k = category(c);
  return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}
bool is_punctuation(char32_t c) {
  const int k = category(c);
  return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}
bool is_symbol(char32_t c) {
  const int k = category(c);
  return k >= UTF8PROC_CATEGORY_SM && k <= UTF8PROC_CATEGORY_SO;
}
bool is_control(char32_t c) {
  const int k = category(c);
  return k == UTF8PROC_CATEGORY_CN || (k >= UTF8PROC_CATEGORY_CC && k <= UTF8PROC_CATEGORY_CO);
}
bool is_mark_nonspacing(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }
bool is_whitespace(char32_t c) {
  if ((c >= 0x09 && c <= 0x0D) || c == 0x85) return true;
  const int k = category(c);
  return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

namespace {

struct ByteLevelTables {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 324> to_byte;  // the alphabet spans U+0000..U+0143
  ByteLevelTables() {
    to_byte.fill(-1);
    // Printable Latin-1 bytes map to themselves; the rest to U+0100 upwards, in byte order.
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = keep ? char32_t(b) : char32_t(next++);
      utf8_append(to_unicode[b], cp);
      to_byte[cp] = int16_t(b);
    }
  }
};

const ByteLevelTables& byte_tables() {
  static const ByteLevelTables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return byte_tables().to_unicode; }

int unicode_to_byte(char32_t cp) { return cp < 324 ? byte_tables().to_byte[cp] : -1; }

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& t = byte_tables().to_unicode;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t[uint8_t(c)];
  return out;
}

std::string byte_level_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char32_t cp;
  for (size_t i = 0; i < text.size();) {
    const int n = utf8_decode(text, i, &cp);
    if (n == 0) {
      out += text[i++];
      continue;
    }
    const int b = unicode_to_byte(cp);
    if (b >= 0) out += char(b);
    else out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace slm::tok
