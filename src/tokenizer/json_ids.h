// Token ids read from tokenizer files (tokenizer.json, encoder.json, tiktoken ranks), which are untrusted:
// an id must be a JSON integer in [0, kMaxJsonTokenId) (nlohmann's get<int>() of a float or of an integer
// out of range is an undefined conversion, so every JSON id goes through here), and the ids of one
// vocabulary must be nearly dense.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
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

// A vocabulary's ids must be nearly dense: ids up to n_ids for n_entries tokens, with at most as many holes
// as tokens plus 1024 (real files pad a few hundred ids at most). Without this, one token with id 2^24 - 1
// in a 300-byte file cost 33 s and 3.5 GB of empty entries.
inline void check_dense_ids(size_t n_ids, size_t n_entries, std::string_view where) {
  if (n_ids > 2 * n_entries + 1024)
    fail("[tokenizer] {}: token ids reach {} for {} tokens; a vocabulary's ids must be (nearly) dense", where,
         n_ids - 1, n_entries);
}

}  // namespace slm::tok
