// Token ids read from tokenizer JSON documents (tokenizer.json, encoder.json), which are untrusted: an id
// must be a JSON integer in [0, kMaxJsonTokenId). nlohmann's get<int>() of a float or of an integer out of
// range is an undefined conversion, so every id goes through here.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace slm::tok {

inline constexpr int64_t kMaxJsonTokenId = int64_t(1) << 24;

// `where` names the document, `what` the value (e.g. "token 'ab'").
inline TokenId json_token_id(const nlohmann::json& v, std::string_view where, std::string_view what) {
  const bool ok = v.is_number_unsigned()  ? v.get<uint64_t>() < uint64_t(kMaxJsonTokenId)
                  : v.is_number_integer() ? v.get<int64_t>() >= 0 && v.get<int64_t>() < kMaxJsonTokenId
                                          : false;
  if (!ok) fail("[tokenizer] {}: {} must be a token id, an integer in [0, {}), not {}", where, what, kMaxJsonTokenId, v.dump());
  return TokenId(v.get<int64_t>());
}

}  // namespace slm::tok
