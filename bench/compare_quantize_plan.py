#!/usr/bin/python3
"""compare_quantize_plan.py SEEK_DRYRUN.txt LLAMA_QUANTIZE.log - compare per-tensor type choices.

SEEK_DRYRUN.txt: `seek quantize IN OUT TYPE --dry-run` (lines "name old-type new-type").
LLAMA_QUANTIZE.log: the output of `llama-quantize --dry-run IN OUT TYPE` (a llama.cpp-family
engine; its "[ i/ N] name - [...], type = f16, ... converting to q4_K" records).
Prints each tensor whose type differs and a summary line; exit status 0 when all agree. Used
for whole-depth models (e.g. 27 blocks of DeepSeek-V2-Lite) where writing both files takes
too long; bench/compare_quantize.sh compares the bytes of smaller ones."""
import re, sys

seek = {}
for line in open(sys.argv[1]):
    name, old, new = line.split()
    seek[name] = new.upper()

eng = {}
text = open(sys.argv[2], errors='replace').read()
recs = re.split(r'^\[\s*\d+/\s*\d+\]\s+', text, flags=re.M)[1:]
for r in recs:
    name = r.split()[0]
    m = re.search(r'converting to (\w+)', r)
    t = m.group(1) if m else re.search(r'type =\s+(\w+)', r).group(1)
    eng[name] = t.upper()

same = diff = 0
for name in seek:
    if seek[name] == eng.get(name):
        same += 1
    else:
        diff += 1
        print(f'{name}: seek {seek[name]}, engine {eng.get(name, "missing")}')
for name in eng:
    if name not in seek:
        diff += 1
        print(f'{name}: only in the engine\'s log')
print(f'{same} tensors with the same type, {diff} different')
sys.exit(0 if diff == 0 else 1)
