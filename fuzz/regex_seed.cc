// Writes the regex fuzz seeds: patterns of the supported subset, some followed by a NUL byte and a match.
#include "text_seeds.h"

using namespace std::string_view_literals;

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    "^(yes|no|maybe)$\0maybe"sv,
    "[A-Za-z_][A-Za-z0-9_]{0,15}\0snake_case"sv,
    R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z)" "\0" "2026-11-23T10:00Z"sv,
    R"((?:[^"\\]|\\.)*)",
    R"([A-Za-z\s]+\.?)",
    R"(a+?b*c{2,}[^x-z\]]\w\W\s\S.)",
    R"(\u00e9+|[\x00-\x1f]|\x41)",
  });
}
