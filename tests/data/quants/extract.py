#!/usr/bin/python3
"""extract.py - cut the quantization test data out of the shared GGUF fixtures.

Run once (stdlib only):  /usr/bin/python3 tests/data/quants/extract.py [FIXTURE_DIR]
FIXTURE_DIR defaults to ../shared/fixtures/quants relative to the repo root.

The fixtures are model-<TYPE>.gguf files written by a llama.cpp-family quantizer
(--pure, no importance matrix) from source-f32.gguf, plus reference
dequantizations model-<TYPE>.<tensor>.f32. For each type and each of three
tensors we keep only the first ROWS rows:

  <TYPE>.<tensor>.q        raw quantized blocks, exactly as stored in the GGUF
  <TYPE>.<tensor>.ref.f32  the reference dequantization of those rows
  <tensor>.src.f32         the f32 source rows (once per tensor)
  manifest.txt             one line per case: TYPE tensor ne0 rows

<TYPE> is the tensor type name (Q3_K, not the file type Q3_K_S). The GGUF
reader here is deliberately independent of the C one in src/.
"""
import json
import os
import struct
import sys

ROWS = 16
TENSORS = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight"]

# ggml type id -> (name, block size, bytes per block), for the types we meet.
TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 30: ("BF16", 1, 2),
}

# GGUF metadata value types -> struct format (8 string, 9 array handled apart).
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "B",
          10: "Q", 11: "q", 12: "d"}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise ValueError("truncated GGUF")
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return vals[0] if len(vals) == 1 else vals

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8")

    def value(self, vtype):
        if vtype in SCALAR:
            return self.take(SCALAR[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype, n = self.take("I"), self.take("Q")
            return [self.value(etype) for _ in range(n)]
        raise ValueError("bad metadata type %d" % vtype)


def read_gguf(path):
    """Returns {name: (type id, ne list, bytes of the whole tensor)}."""
    data = open(path, "rb").read()
    r = Reader(data)
    if r.take("4s") != b"GGUF":
        raise ValueError(path + ": not GGUF")
    version, n_tensors, n_kv = r.take("I"), r.take("Q"), r.take("Q")
    if version != 3:
        raise ValueError(path + ": GGUF version %d" % version)
    kv = {}
    for _ in range(n_kv):
        key = r.string()
        kv[key] = r.value(r.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        ne = [r.take("Q") for _ in range(r.take("I"))]
        infos.append((name, r.take("I"), ne, r.take("Q")))
    align = kv.get("general.alignment", 32)
    base = (r.pos + align - 1) // align * align
    out = {}
    for name, ttype, ne, off in infos:
        _, bs, ts = TYPES[ttype]
        n = 1
        for d in ne:
            n *= d
        size = n // bs * ts
        out[name] = (ttype, ne, data[base + off: base + off + size])
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    fixdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "fixtures", "quants")
    index = json.load(open(os.path.join(fixdir, "index.json")))

    src = read_gguf(os.path.join(fixdir, index["source"]))
    for t in TENSORS:
        ttype, ne, raw = src[t]
        assert ttype == 0
        open(os.path.join(here, t + ".src.f32"), "wb").write(raw[:ROWS * ne[0] * 4])

    manifest = []
    for fname in sorted(index["files"]):
        tensors = read_gguf(os.path.join(fixdir, fname))
        for entry in index["files"][fname]:
            t = entry["tensor"]
            if t not in TENSORS:
                continue
            ttype, ne, raw = tensors[t]
            name, bs, ts = TYPES[ttype]
            assert name == entry["type"] and ne == entry["ne"], (fname, t)
            row_bytes = ne[0] // bs * ts
            open(os.path.join(here, "%s.%s.q" % (name, t)), "wb").write(raw[:ROWS * row_bytes])
            ref = open(os.path.join(fixdir, entry["dequantized"]), "rb").read()
            open(os.path.join(here, "%s.%s.ref.f32" % (name, t)), "wb").write(ref[:ROWS * ne[0] * 4])
            manifest.append("%s %s %d %d" % (name, t, ne[0], ROWS))
    with open(os.path.join(here, "manifest.txt"), "w") as f:
        f.write("# type tensor ne0 rows  (written by extract.py)\n")
        f.write("\n".join(manifest) + "\n")
    print("wrote %d cases to %s" % (len(manifest), here))


if __name__ == "__main__":
    main()
