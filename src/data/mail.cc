// Mail parsing: headers, MIME parts, transfer encodings and charsets.
#include "data/mail.h"

#include <algorithm>
#include <cctype>

namespace slm::data {

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = char(std::tolower((unsigned char)c));
  return o;
}
std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace((unsigned char)s[a])) ++a;
  while (b > a && std::isspace((unsigned char)s[b - 1])) --b;
  return std::string(s.substr(a, b - a));
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out += char(cp);
  else if (cp < 0x800) out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
  else out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
}

// windows-1252 0x80..0x9F (0 = undefined).
constexpr uint16_t kCp1252[32] = {0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                                  0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
                                  0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

// Valid UTF-8 copied; each invalid byte becomes U+FFFD.
std::string clean_utf8(std::string_view s, size_t* replaced) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = (unsigned char)s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = ((unsigned char)s[i + k] >> 6) == 2;
    if (ok && n == 2) ok = c >= 0xC2;
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      if (replaced) ++*replaced;
      ++i;
    }
  }
  return out;
}

struct Part {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

// Splits header block from body; unfolds continuation lines.
Part split_part(std::string_view raw) {
  Part p;
  size_t i = 0;
  while (i < raw.size()) {
    size_t e = raw.find('\n', i);
    if (e == std::string_view::npos) e = raw.size();
    std::string_view line = raw.substr(i, e - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    i = std::min(e + 1, raw.size());
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !p.headers.empty()) {
      p.headers.back().second += " " + trim(line);
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      if (p.headers.empty() && line.starts_with("From ")) continue;  // mbox separator line
      i = size_t(line.data() - raw.data());  // not a header: the body starts here
      break;
    }
    p.headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  p.body = raw.substr(std::min(i, raw.size()));
  return p;
}

std::string get(const Part& p, std::string_view name) {
  for (const auto& [k, v] : p.headers)
    if (k == name) return v;
  return {};
}

// A parameter of a structured header value: charset="x" or boundary=y.
std::string param(std::string_view value, std::string_view name) {
  const std::string lv = lower(value);
  size_t pos = 0;
  while ((pos = lv.find(name, pos)) != std::string::npos) {
    const bool start = pos == 0 || lv[pos - 1] == ';' || std::isspace((unsigned char)lv[pos - 1]);
    size_t j = pos + name.size();
    while (j < lv.size() && lv[j] == ' ') ++j;
    if (start && j < lv.size() && lv[j] == '=') {
      ++j;
      while (j < lv.size() && lv[j] == ' ') ++j;
      if (j < value.size() && value[j] == '"') {
        const size_t e = value.find('"', j + 1);
        return std::string(value.substr(j + 1, (e == std::string_view::npos ? value.size() : e) - j - 1));
      }
      size_t e = j;
      while (e < value.size() && value[e] != ';' && !std::isspace((unsigned char)value[e])) ++e;
      return std::string(value.substr(j, e - j));
    }
    pos += name.size();
  }
  return {};
}

// =?charset?Q|B?text?= words in header values.
std::string decode_words(const std::string& v, size_t* replaced) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    const size_t s = v.find("=?", i);
    if (s == std::string::npos) break;
    const size_t q1 = v.find('?', s + 2), q2 = q1 == std::string::npos ? q1 : v.find('?', q1 + 1);
    const size_t e = q2 == std::string::npos ? q2 : v.find("?=", q2 + 1);
    if (e == std::string::npos || q2 != q1 + 2) {
      out += v.substr(i, s + 2 - i), i = s + 2;
      continue;
    }
    const std::string between = v.substr(i, s - i);
    if (!(out.size() && between.find_first_not_of(" \t") == std::string::npos)) out += between;
    const std::string cs = v.substr(s + 2, q1 - s - 2), text = v.substr(q2 + 1, e - q2 - 1);
    std::string bytes;
    if (std::tolower((unsigned char)v[q1 + 1]) == 'b') bytes = decode_base64(text);
    else {
      std::string t = text;
      std::replace(t.begin(), t.end(), '_', ' ');
      bytes = decode_quoted_printable(t);
    }
    out += to_utf8(bytes, cs, replaced);
    i = e + 2;
  }
  return out + v.substr(std::min(i, v.size()));
}

void walk(std::string_view raw, std::string& plain, std::string& html, size_t* replaced, int depth) {
  const Part p = split_part(raw);
  const std::string ctype = get(p, "content-type"), type = lower(trim(ctype.substr(0, ctype.find(';'))));
  if (type.starts_with("multipart/") && depth < 8) {
    const std::string b = param(ctype, "boundary");
    if (!b.empty()) {
      const std::string delim = "--" + b;
      size_t pos = p.body.find(delim);
      while (pos != std::string_view::npos) {
        size_t start = p.body.find('\n', pos);
        if (start == std::string_view::npos || p.body.substr(pos + delim.size(), 2) == "--") break;
        ++start;
        const size_t next = p.body.find(delim, start);
        std::string_view part = p.body.substr(start, (next == std::string_view::npos ? p.body.size() : next) - start);
        walk(part, plain, html, replaced, depth + 1);
        pos = next;
      }
      return;
    }
  }
  if (!type.empty() && !type.starts_with("text/")) return;  // attachments, images
  const std::string enc = lower(trim(get(p, "content-transfer-encoding")));
  std::string bytes = enc == "quoted-printable" ? decode_quoted_printable(p.body)
                      : enc == "base64"         ? decode_base64(p.body)
                                                : std::string(p.body);
  std::string text = to_utf8(bytes, param(ctype, "charset"), replaced);
  (type == "text/html" ? html : plain) += text;
}

}  // namespace

std::string Mail::header(std::string_view name) const {
  const std::string n = lower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return v;
  return {};
}

std::string decode_quoted_printable(std::string_view s) {
  std::string out;
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '\n') ++i;  // soft line break
    else if (i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') i += 2;
    else if (i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0)
      out += char(hex(s[i + 1]) * 16 + hex(s[i + 2])), i += 2;
    else out += '=';
  }
  return out;
}

std::string decode_base64(std::string_view s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (c == '=') break;
    if (v < 0) {
      if (std::isspace((unsigned char)c)) continue;
      break;
    }
    acc = (acc << 6) | uint32_t(v), bits += 6;
    if (bits >= 8) bits -= 8, out += char((acc >> bits) & 0xFF);
  }
  return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset, size_t* replaced) {
  const std::string cs = lower(trim(charset));
  const bool latin = cs == "iso-8859-1" || cs == "latin1" || cs == "iso-8859-15" || cs == "iso8859-1" ||
                     cs == "windows-1252" || cs == "cp1252";
  if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii" || !latin) {
    if (!cs.empty() && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" && cs != "ascii") {
      // Unknown charset: keep ASCII, replace every other byte clearly.
      std::string out;
      for (unsigned char c : bytes) {
        if (c < 0x80) out += char(c);
        else out += "\xEF\xBF\xBD", replaced && ++*replaced;
      }
      return out;
    }
    return clean_utf8(bytes, replaced);
  }
  std::string out;
  for (unsigned char c : bytes) {
    uint32_t cp = c;
    if (c >= 0x80 && c < 0xA0 && cs != "iso-8859-1" && cs != "latin1" && cs != "iso8859-1") cp = kCp1252[c - 0x80];
    if (cs == "iso-8859-15" && c == 0xA4) cp = 0x20AC;
    if (cp == 0) {
      out += "\xEF\xBF\xBD";
      if (replaced) ++*replaced;
      continue;
    }
    put_utf8(out, cp);
  }
  return out;
}

std::string strip_html(std::string_view h) {
  std::string out;
  bool tag = false;
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] == '<') tag = true;
    else if (h[i] == '>' && tag) tag = false, out += ' ';
    else if (!tag) out += h[i];
  }
  return out;
}

Mail parse_mail(std::string_view raw) {
  Mail m;
  const Part top = split_part(raw);
  for (const auto& [k, v] : top.headers)  // raw 8-bit header bytes: kept if UTF-8, else replaced
    m.headers.emplace_back(k, clean_utf8(decode_words(v, &m.replaced), &m.replaced));
  m.subject = m.header("subject");
  m.from = m.header("from");
  std::string plain, html;
  walk(raw, plain, html, &m.replaced, 0);
  m.body = !plain.empty() ? plain : strip_html(html);
  return m;
}

}  // namespace slm::data
