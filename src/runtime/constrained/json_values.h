// Byte-level expressions for JSON values: whitespace runs, free-form values of bounded nesting,
// strings of bounded length, numbers and integers within bounds, and string formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/constrained/ir.h"

namespace slm::constrained {

// 0..max_ws characters from " \t\n\r": every place JSON allows whitespace allows this much.
ExprPtr json_ws(int max_ws);
// Any JSON value with at most `depth` levels of arrays/objects (0: scalars only).
ExprPtr json_any_value(int depth, int max_ws);
// Any JSON object whose members' values have at most depth - 1 further levels (depth >= 1).
ExprPtr json_any_object(int depth, int max_ws);
// A quoted string of min..max characters (max < 0: unbounded).
ExprPtr json_string(int min_len, int max_len);
ExprPtr json_number();   // any JSON number with at most 19 integer digits and a 2-digit exponent
ExprPtr json_integer();  // -?(0|[1-9][0-9]{0,18})

// An end of a numeric range.
struct NumBound {
  double value;
  bool exclusive = false;
};
// Integers in the range (bounds need not be integral). Throws slm::Error(context ...) when a bound is
// beyond +-2^53.
ExprPtr json_integer_range(std::optional<NumBound> lo, std::optional<NumBound> hi, std::string_view context);
// Numbers in the range, written without an exponent. Bounds must be integral (else slm::Error).
ExprPtr json_number_range(std::optional<NumBound> lo, std::optional<NumBound> hi, std::string_view context);
// A string body (no quotes) in one of the formats: date, time, date-time, uuid, ipv4. Others throw
// slm::Error.
ExprPtr json_format_body(std::string_view format, std::string_view context);

// The JSON text of a string (quotes and escapes as nlohmann::json writes them).
std::string json_quote(std::string_view s);

}  // namespace slm::constrained
