// RFC 822 / MIME mail parsing for corpora of real mails: headers (unfolded, RFC 2047 encoded words),
// multipart bodies, quoted-printable and base64 transfer encodings, and charsets converted to UTF-8
// (UTF-8, US-ASCII, ISO-8859-1/15, windows-1252 exactly; anything else or invalid bytes become U+FFFD).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slm::data {

struct Mail {
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values unfolded and decoded
  std::string subject, from;
  std::string body;   // text/plain parts joined (HTML parts with tags stripped when there is no plain text)
  size_t replaced = 0;  // characters replaced by U+FFFD (unknown charset or invalid bytes)
  std::string header(std::string_view name) const;  // first value, or empty
};

Mail parse_mail(std::string_view raw);

std::string decode_quoted_printable(std::string_view s);
std::string decode_base64(std::string_view s);  // skips whitespace and stops at padding or bad bytes
// Bytes in `charset` to UTF-8; `replaced` counts U+FFFD substitutions.
std::string to_utf8(std::string_view bytes, std::string_view charset, size_t* replaced = nullptr);
std::string strip_html(std::string_view html);

}  // namespace slm::data
