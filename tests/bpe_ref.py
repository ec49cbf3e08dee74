#!/usr/bin/python3
"""bpe_ref.py TOKENIZER_JSON TEXT_FILE - token ids of a text under a byte-level BPE tokenizer.json,
computed the way Hugging Face `tokenizers` defines it, written independently of seek for the
tokenizer-trainer test: added tokens are cut out first (longest match), each Split step of the
pre_tokenizer Sequence isolates its regex matches (Python's `regex`, which has \\p{..}), the
ByteLevel step maps bytes to GPT-2's printable characters, and each piece is merged pair by pair,
always the adjacent pair of lowest merge rank (all its occurrences, left to right).
Prints the ids space-separated."""
import json, sys
import regex

tj = json.load(open(sys.argv[1], encoding="utf-8"))
text = open(sys.argv[2], encoding="utf-8").read()
vocab = tj["model"]["vocab"]
ranks = {}
for r, m in enumerate(tj["model"]["merges"]):
    a, b = m.split(" ") if isinstance(m, str) else m
    ranks[(a, b)] = r
added = sorted(((t["content"], t["id"]) for t in tj["added_tokens"]), key=lambda x: -len(x[0]))

bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
byte_char = {b: chr(c) for b, c in zip(bs, cs)}

splits = [regex.compile(s["pattern"]["Regex"]) for s in tj["pre_tokenizer"]["pretokenizers"] if s["type"] == "Split"]


def isolate(pieces, rx):
    out = []
    for p in pieces:
        at = 0
        for m in rx.finditer(p):
            if m.start() > at:
                out.append(p[at:m.start()])
            if m.end() > m.start():
                out.append(m.group())
            at = m.end()
        if at < len(p):
            out.append(p[at:])
    return out


def bpe(word):
    syms = list(word)
    while len(syms) > 1:
        best = min(((ranks.get((syms[i], syms[i + 1]), 1 << 30), i) for i in range(len(syms) - 1)))
        if best[0] == 1 << 30:
            break
        a, b = syms[best[1]], syms[best[1] + 1]
        out, i = [], 0
        while i < len(syms):
            if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                out.append(a + b); i += 2
            else:
                out.append(syms[i]); i += 1
        syms = out
    return syms


ids, at, seg = [], 0, 0
while at <= len(text):
    hit = None
    if at < len(text):
        for s, i in added:
            if text.startswith(s, at):
                hit = (s, i); break
    if hit or at == len(text):
        pieces = [text[seg:at]] if at > seg else []
        for rx in splits:
            pieces = isolate(pieces, rx)
        for p in pieces:
            ids += [vocab[t] for t in bpe("".join(byte_char[b] for b in p.encode("utf-8")))]
        if not hit:
            break
        ids.append(hit[1])
        at += len(hit[0]); seg = at
    else:
        at += 1
print(" ".join(map(str, ids)))
