#!/usr/bin/env python3
"""Cut the reference quantization fixtures down to test size.

Reads ../shared/fixtures/quants (GGUF files written by a llama.cpp-family
quantizer from source-f32.gguf, plus its reference dequantizations) and writes,
for every type and three tensors, the first ROWS rows of:
  <TYPE>.<tensor>.q        the quantized blocks, as in the file
  <TYPE>.<tensor>.ref.f32  the reference dequantization
  <tensor>.src.f32         the source floats they were quantized from
and manifest.txt ("TYPE tensor ne0 rows" per line). Stdlib only; parses GGUF itself.
Run from the repository root: python3 tests/data/quants/extract.py
"""
import json, os, struct, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/quants"
OUT = os.path.dirname(os.path.abspath(__file__))
ROWS = 16
# (block size, bytes per block) by ggml type id
SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
         10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}

def read_gguf(path):
    b = open(path, "rb").read()
    pos = 4
    version, n_t, n_kv = struct.unpack_from("<IQQ", b, pos); pos += 20
    align = 32
    def rstr(p):
        n, = struct.unpack_from("<Q", b, p); return b[p + 8:p + 8 + n].decode("utf-8", "replace"), p + 8 + n
    scal = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    def rval(t, p):
        if t == 8: return rstr(p)
        if t == 9:
            et, n = struct.unpack_from("<IQ", b, p); p += 12; out = []
            for _ in range(n):
                v, p = rval(et, p); out.append(v)
            return out, p
        f = "<" + scal[t]; return struct.unpack_from(f, b, p)[0], p + struct.calcsize(f)
    for _ in range(n_kv):
        k, pos = rstr(pos); t, = struct.unpack_from("<I", b, pos); pos += 4
        v, pos = rval(t, pos)
        if k == "general.alignment": align = v
    tensors = {}
    for _ in range(n_t):
        name, pos = rstr(pos); nd, = struct.unpack_from("<I", b, pos); pos += 4
        ne = struct.unpack_from("<%dQ" % nd, b, pos); pos += 8 * nd
        t, off = struct.unpack_from("<IQ", b, pos); pos += 12
        tensors[name] = (t, ne, off)
    data = (pos + align - 1) // align * align
    return b, data, tensors

index = json.load(open(os.path.join(SRC, "index.json")))
sb, sdata, stens = read_gguf(os.path.join(SRC, index["source"]))
manifest, done_src = [], set()
for fname, entries in sorted(index["files"].items()):
    b, data, tens = read_gguf(os.path.join(SRC, fname))
    for e in entries:
        t, ne, off = tens[e["tensor"]]
        bs, ts = SIZES[t]
        row = ne[0] // bs * ts
        tname = e["type"]
        open(os.path.join(OUT, "%s.%s.q" % (tname, e["tensor"])), "wb").write(b[data + off:data + off + ROWS * row])
        ref = open(os.path.join(SRC, e["dequantized"]), "rb").read()
        open(os.path.join(OUT, "%s.%s.ref.f32" % (tname, e["tensor"])), "wb").write(ref[:ROWS * ne[0] * 4])
        if e["tensor"] not in done_src:
            st, sne, soff = stens[e["tensor"]]
            assert st == 0 and tuple(sne) == tuple(ne)
            open(os.path.join(OUT, "%s.src.f32" % e["tensor"]), "wb").write(
                sb[sdata + soff:sdata + soff + ROWS * ne[0] * 4])
            done_src.add(e["tensor"])
        manifest.append("%s %s %d %d" % (tname, e["tensor"], ne[0], ROWS))
open(os.path.join(OUT, "manifest.txt"), "w").write("\n".join(manifest) + "\n")
print("wrote %d entries" % len(manifest))
