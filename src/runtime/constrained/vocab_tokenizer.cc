// Vocabulary from the tokenizer API: the one file of the constrained module that knows the tokenizer.
#include <algorithm>

#include "runtime/constrained/vocab.h"
#include "tokenizer/tokenizer.h"

namespace slm::constrained {

Vocabulary vocabulary_from_tokenizer(const tok::Tokenizer& tok) {
  Vocabulary v;
  const int n = tok.n_vocab();
  v.pieces.resize(size_t(n));
  v.special.assign(size_t(n), 0);
  for (int id = 0; id < n; ++id) {
    const tok::TokenType t = tok.token_type(id);
    const bool special = t == tok::TokenType::control || t == tok::TokenType::unknown ||
                         t == tok::TokenType::unused;
    v.special[size_t(id)] = special;
    if (!special) v.pieces[size_t(id)] = tok.token_to_piece(id);
    if (tok.is_eog(id)) v.eos.push_back(id);
  }
  for (tok::TokenId id : {tok.eos(), tok.eot()}) {
    if (id >= 0 && id < n && std::find(v.eos.begin(), v.eos.end(), id) == v.eos.end()) v.eos.push_back(id);
  }
  return v;
}

}  // namespace slm::constrained
