// `slm tokenize` and `slm detokenize`: text <-> token ids with the tokenizer of a GGUF file, a
// tokenizer.json (or a SentencePiece tokenizer.model).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace slm::cli {
namespace {

struct TokenizeFlags {
  std::string model, text, file;
  bool ids = false, no_bos = false, parse_special = false, lines = false;
};

// A piece printed on one line: control characters and backslashes escaped.
std::string escape_piece(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (uint8_t(c) < 0x20) out += fmt::format("\\x{:02x}", uint8_t(c));
        else out += c;
    }
  }
  return out;
}

void print_ids(const tok::Tokenizer& tok, const std::vector<tok::TokenId>& ids, bool ids_only, std::string& out) {
  if (ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) fmt::format_to(std::back_inserter(out), "{}{}", i ? " " : "", ids[i]);
    out += '\n';
    return;
  }
  for (tok::TokenId id : ids) fmt::format_to(std::back_inserter(out), "{} '{}'\n", id, escape_piece(tok.token_to_piece(id, true)));
}

void run_tokenize(const TokenizeFlags& f) {
  std::string text = f.text;
  if (!f.file.empty()) {
    std::ifstream in(f.file, std::ios::binary);
    if (!in) fail("[tokenize] cannot open '{}'", f.file);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const tok::Tokenizer tok = tok::Tokenizer::load(f.model);
  const tok::EncodeOptions opt{.add_special = !f.no_bos, .parse_special = f.parse_special};
  std::string out;
  if (f.lines) {
    // One case per line (no trailing newline counted): one output line of ids each.
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      print_ids(tok, tok.encode(std::string_view(text).substr(at, nl - at), opt), true, out);
      at = nl + 1;
    }
  } else {
    print_ids(tok, tok.encode(text, opt), f.ids, out);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto f = std::make_shared<TokenizeFlags>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text");
  cmd->add_option("-m,--model", f->model, "GGUF file, tokenizer.json or tokenizer.model")->required();
  auto* text = cmd->add_option("text", f->text, "Text to tokenize");
  auto* file = cmd->add_option("--file", f->file, "Read the text from a file");
  text->excludes(file);
  cmd->add_flag("--ids", f->ids, "Print only the ids, space separated");
  cmd->add_flag("--no-bos", f->no_bos, "Do not add BOS/EOS (or CLS/SEP)");
  cmd->add_flag("--parse-special", f->parse_special, "Recognise special tokens written in the text");
  cmd->add_flag("--lines", f->lines, "Tokenize each line separately; one line of ids per input line");
  cmd->callback([f, text, file] {
    if (text->count() == 0 && file->count() == 0) fail("[tokenize] give a TEXT or --file");
    run_tokenize(*f);
  });

  auto ids = std::make_shared<std::vector<int64_t>>();
  auto model = std::make_shared<std::string>();
  auto special = std::make_shared<bool>(false);
  CLI::App* de = app.add_subcommand("detokenize", "Print the text of token ids");
  de->add_option("-m,--model", *model, "GGUF file, tokenizer.json or tokenizer.model")->required();
  de->add_option("ids", *ids, "Token ids")->required();
  de->add_flag("--special", *special, "Render special (control) tokens");
  de->callback([ids, model, special] {
    const tok::Tokenizer tok = tok::Tokenizer::load(*model);
    std::vector<tok::TokenId> v;
    for (int64_t id : *ids) {
      if (id < 0 || id >= tok.n_vocab()) fail("[detokenize] token id {} out of range [0, {})", id, tok.n_vocab());
      v.push_back(tok::TokenId(id));
    }
    const std::string s = tok.decode(v, {.special = *special});
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
  });
}

}  // namespace slm::cli
