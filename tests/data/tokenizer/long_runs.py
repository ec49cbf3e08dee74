#!/usr/bin/python3
"""Reference pre-tokenization of very long whitespace runs (issue 13), for
tests/test_tokenizer_misc.c:long_whitespace_runs. Hugging Face's tokenizers apply each
Split step of the tokenizer.json pre_tokenizer with its own regex engine and no step limit;
this script applies the same patterns with Python's `regex` module (Debian python3-regex,
an engine independent of PCRE2) and prints, per tokenizer and text, the byte spans of the
resulting pieces. Texts: N = 10,000,000.
  A: N spaces + "a"      B: "x" + N spaces      C: N spaces + "\\n"
  D: "\\t \\t" * (N / 3) + "b"
Run from the repository root: /usr/bin/python3 tests/data/tokenizer/long_runs.py"""
import json
import regex

N = 10_000_000
TEXTS = {"A": " " * N + "a", "B": "x" + " " * N, "C": " " * N + "\n", "D": "\t \t" * (N // 3) + "b"}

def splits(tok):
    pre = tok["pre_tokenizer"]
    steps = pre["pretokenizers"] if pre["type"] == "Sequence" else [pre]
    out = []
    for s in steps:
        if s["type"] == "Split":
            assert s["behavior"] == "Isolated" and not s["invert"]
            out.append(regex.compile(s["pattern"]["Regex"]))
    return out

def pieces(text, pats):
    cur = [(0, len(text))]
    for p in pats:
        nxt = []
        for a, b in cur:
            pos = a
            for m in p.finditer(text, a, b):
                if m.start() == m.end():
                    continue
                if m.start() > pos:
                    nxt.append((pos, m.start()))
                nxt.append((m.start(), m.end()))
                pos = m.end()
            if pos < b:
                nxt.append((pos, b))
        cur = nxt
    return cur

for name in ["deepseek-v3", "llama3"]:
    pats = splits(json.load(open("tests/data/tokenizer/%s/tokenizer.json" % name)))
    for k, text in TEXTS.items():
        assert text.isascii()   # byte offsets = character offsets
        print(name, k, pieces(text, pats))
