// Token ids from an independent implementation (@lenml/tokenizers, a port of Hugging Face's
// transformers.js) for a tokenizer.json that `slm tokenizer train` wrote, one line of text per case.
//
//   node tests/node/bpe_train_ref.mjs TOKENIZER_DIR TEXT_FILE OUT_IDS
//
// TOKENIZER_DIR holds tokenizer.json and tokenizer_config.json. Writes the ids of each line of TEXT_FILE
// (add_special_tokens=false; special-token texts are matched, as transformers.js always does) to OUT_IDS,
// one line each, and exits 1 when decoding the ids does not give the line back.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [dir, textFile, outFile] = process.argv.slice(2);
if (!dir || !textFile || !outFile) {
  console.error("usage: bpe_train_ref.mjs TOKENIZER_DIR TEXT_FILE OUT_IDS");
  process.exit(2);
}

const { TokenizerLoader } = require("@lenml/tokenizers");
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
});

const text = fs.readFileSync(textFile, "utf8");
const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
let bad = 0;
const out = lines.map((l, i) => {
  const ids = tok.encode(l, { add_special_tokens: false });
  const back = tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  if (back !== l && ++bad <= 3) console.error(`line ${i}: decode gives ${JSON.stringify(back)} for ${JSON.stringify(l)}`);
  return ids.join(" ");
});
fs.writeFileSync(outFile, out.join("\n") + "\n");
console.log(`bpe_train_ref: ${lines.length} lines, ${bad} decode mismatches`);
process.exit(bad ? 1 : 0);
