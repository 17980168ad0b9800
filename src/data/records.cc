// JSONL and CSV readers and the JSONL writer.
#include "data/records.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace slm::data {

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[data] cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::vector<Row> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("[data] cannot open '{}'", path);
  std::vector<Row> rows;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Row r = Row::parse(line, nullptr, false);
    if (r.is_discarded()) fail("[data] {}:{}: not valid JSON", path, n);
    if (!r.is_object()) fail("[data] {}:{}: expected a JSON object", path, n);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<Row> read_csv(const std::string& path) {
  const std::string s = slurp(path);
  // Cells become JSON strings, which must be UTF-8: a file in another encoding is refused by line, not
  // rewritten with U+FFFD on the way out.
  for (size_t pos = 0, line = 1; pos < s.size(); ++line) {
    const size_t end = std::min(s.find('\n', pos), s.size());
    if (!tok::utf8_valid(std::string_view(s).substr(pos, end - pos)))
      fail("[data] {}:{}: not valid UTF-8 (convert the file to UTF-8)", path, line);
    pos = end + 1;
  }
  std::vector<std::vector<std::string>> recs(1);
  std::string cell;
  bool quoted = false, any = false;
  size_t line = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') cell += '"', ++i;
      else if (c == '"') quoted = false;
      else cell += c, line += c == '\n';
      continue;
    }
    if (c == '"' && cell.empty()) quoted = true, any = true;
    else if (c == ',') recs.back().push_back(std::move(cell)), cell.clear(), any = true;
    else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      if (any || !cell.empty()) recs.back().push_back(std::move(cell)), recs.emplace_back();
      cell.clear(), any = false, ++line;
    } else cell += c, any = true;
  }
  if (quoted) fail("[data] {}:{}: unterminated quoted field", path, line);
  if (any || !cell.empty()) recs.back().push_back(std::move(cell));
  if (recs.back().empty()) recs.pop_back();
  if (recs.empty()) fail("[data] {}: no header row", path);
  const auto& head = recs[0];
  std::set<std::string_view> names;
  for (const std::string& h : head)
    if (!names.insert(h).second) fail("[data] {}: column '{}' appears twice in the header", path, h);
  std::vector<Row> rows;
  for (size_t r = 1; r < recs.size(); ++r) {
    if (recs[r].size() != head.size())
      fail("[data] {}: record {} has {} fields, the header has {}", path, r + 1, recs[r].size(), head.size());
    Row row = Row::object();
    for (size_t k = 0; k < head.size(); ++k) row[head[k]] = recs[r][k];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<Row> read_rows(const std::string& path) {
  return path.ends_with(".csv") ? read_csv(path) : read_jsonl(path);
}

void write_jsonl(const std::string& path, const std::vector<Row>& rows) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("[data] cannot write '{}'", path);
  for (const Row& r : rows) out << r.dump(-1, ' ', false, Row::error_handler_t::replace) << '\n';
  if (!out) fail("[data] write to '{}' failed", path);
}

std::string field_text(const Row& row, const std::string& slot, const FieldMap& map) {
  const auto it = map.find(slot);
  const std::string& name = it == map.end() ? slot : it->second;
  if (!row.is_object() || !row.contains(name)) fail("[data] row has no field '{}' (slot '{}')", name, slot);
  const Row& v = row[name];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace slm::data
