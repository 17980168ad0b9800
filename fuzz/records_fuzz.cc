// libFuzzer target for data sets: the same bytes read as JSONL and as CSV (from a memfd). Each either reads
// or throws slm::Error naming the file and line; rows read are objects (CSV: one string per header column)
// and come back unchanged through write_jsonl and read_jsonl.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "data/records.h"
#include "mem_file.h"

namespace {

void round_trip(const std::vector<slm::data::Row>& rows) {
  const MemFile out(nullptr, 0);
  slm::data::write_jsonl(out.path(), rows);
  if (slm::data::read_jsonl(out.path()) != rows) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using slm::data::Row;
  const MemFile in(data, size);
  try {
    const std::vector<Row> rows = slm::data::read_jsonl(in.path());
    for (const Row& r : rows)
      if (!r.is_object()) __builtin_trap();
    round_trip(rows);
  } catch (const slm::Error&) {
  }
  try {
    const std::vector<Row> rows = slm::data::read_csv(in.path());
    for (const Row& r : rows) {
      if (!r.is_object() || r.size() != rows.front().size()) __builtin_trap();
      for (const auto& [k, v] : r.items())
        if (!v.is_string()) __builtin_trap();
    }
    round_trip(rows);
  } catch (const slm::Error&) {
  }
  return 0;
}
