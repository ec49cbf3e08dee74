# make_text.py - the benchmark text: mixed English / Chinese / code, about 4 MB.
# English and Chinese paragraphs from the tokenizer golden texts, code from this repo's
# C sources, interleaved and repeated. Usage: /usr/bin/python3 bench/make_text.py OUT
import glob, json, sys
cases = json.load(open("tests/data/tokenizer/deepseek-v3.golden.json"))["cases"]
prose = [c["text"] for c in cases if len(c["text"]) > 20]
code = [open(f, encoding="utf-8").read() for f in sorted(glob.glob("src/*.c"))]
parts = []
i = 0
while sum(len(p.encode()) for p in parts) < 4_000_000:
    parts.append(prose[i % len(prose)])
    parts.append(prose[(i * 7 + 3) % len(prose)])
    if i % 4 == 0:
        parts.append(code[(i // 4) % len(code)])
    i += 1
open(sys.argv[1], "w", encoding="utf-8").write("\n\n".join(parts))
