// Data sets as rows of named string fields: JSONL and CSV readers, a JSONL writer, and a field mapping
// that names which source field fills each slot of a task's input template (and the label).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slm::data {

using Row = nlohmann::json;  // one object; values are strings, numbers or nested JSON

// One JSON object per line; blank lines skipped. Throws slm::Error("[data] file:line: ...") on bad lines.
std::vector<Row> read_jsonl(const std::string& path);
// RFC 4180 CSV with a header row (quoted fields, "" escapes, newlines inside quotes). Values are strings.
std::vector<Row> read_csv(const std::string& path);
// By extension: .csv is CSV, anything else JSONL.
std::vector<Row> read_rows(const std::string& path);
void write_jsonl(const std::string& path, const std::vector<Row>& rows);

// slot -> source field. A slot missing from the mapping reads the field of the same name.
using FieldMap = std::map<std::string, std::string>;
// The field value as text (strings as they are, other JSON dumped); throws if the field is missing.
std::string field_text(const Row& row, const std::string& slot, const FieldMap& map);

}  // namespace slm::data
