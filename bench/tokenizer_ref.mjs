// tokenizer_ref.mjs - the reference measurement for bench/tokenizer.sh: the same load
// and paragraph-by-paragraph encoding with @lenml/tokenizers (transformers.js tokenizers)
// under node. Usage: node bench/tokenizer_ref.mjs MODULE_DIR TOKENIZER_DIR TEXT [REPEATS]
// (MODULE_DIR: where `npm install @lenml/tokenizers` was run, outside the repository).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const [modDir, tokDir, textPath, rep] = process.argv.slice(2);
const require = createRequire(modDir + "/");
const { TokenizerLoader } = require("@lenml/tokenizers");
const t0 = performance.now();
const tokenizerJSON = JSON.parse(readFileSync(tokDir + "/tokenizer.json", "utf8"));
const tokenizerConfig = JSON.parse(readFileSync(tokDir + "/tokenizer_config.json", "utf8"));
const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const load = (performance.now() - t0) / 1000;
const text = readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const paras = [];
for (let pos = 0; pos < text.length;) {
  const e = text.indexOf("\n\n", pos);
  const end = e < 0 ? text.length : e + 2;
  paras.push(text.slice(pos, end));
  pos = end;
}
let best = 1e30, ntok = 0, sum = 0;
for (let r = 0; r < Number(rep || 3); r++) {
  ntok = 0; sum = 0;
  const a = performance.now();
  for (const p of paras) {
    const ids = tok.encode(p, { add_special_tokens: false });
    for (let i = 0; i < ids.length; i++) sum = (sum + Math.imul(ids[i], ntok + i + 1)) >>> 0;
    ntok += ids.length;
  }
  best = Math.min(best, (performance.now() - a) / 1000);
}
console.log(`load ${load.toFixed(3)} s`);
console.log(`text ${(bytes / 1e6).toFixed(2)} MB, ${ntok} tokens, encode ${best.toFixed(3)} s = ${(bytes / 1e6 / best).toFixed(2)} MB/s, checksum ${sum}`);
