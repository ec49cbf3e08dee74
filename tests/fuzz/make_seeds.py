#!/usr/bin/python3
"""Write the richer fuzzing seeds (stdlib only; run from the repo root):
  tests/fuzz/seeds/gguf/all-types.gguf: one metadata value of every GGUF type
      (nested array included) and tensors of types F32, F16, Q8_0, Q4_K
  tests/fuzz/seeds/safetensors/all-dtypes.safetensors: a tensor of each of the
      12 dtypes, a zero-size tensor, metadata
Seeds only need to be well-formed, so tensor bytes are a simple counter."""
import json
import struct

def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b

def gguf():
    kv = []
    def add(key, typ, payload):
        kv.append(gstr(key) + struct.pack("<I", typ) + payload)
    add("general.architecture", 8, gstr("llama"))
    add("general.alignment", 4, struct.pack("<I", 32))
    add("t.u8", 0, struct.pack("<B", 200))
    add("t.i8", 1, struct.pack("<b", -5))
    add("t.u16", 2, struct.pack("<H", 60000))
    add("t.i16", 3, struct.pack("<h", -300))
    add("t.i32", 5, struct.pack("<i", -70000))
    add("t.f32", 6, struct.pack("<f", 1e-5))
    add("t.bool", 7, struct.pack("<B", 1))
    add("t.u64", 10, struct.pack("<Q", 1 << 40))
    add("t.i64", 11, struct.pack("<q", -(1 << 40)))
    add("t.f64", 12, struct.pack("<d", 3.25))
    add("t.arr_f32", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 1.5, -2, 1e30))
    add("t.arr_i32", 9, struct.pack("<IQ", 5, 2) + struct.pack("<2i", 7, -7))
    add("t.arr_str", 9, struct.pack("<IQ", 8, 2) + gstr("<s>") + gstr("</s>"))
    inner = struct.pack("<IQ", 4, 2) + struct.pack("<2I", 1, 2)
    add("t.arr_arr", 9, struct.pack("<IQ", 9, 2) + inner + inner)
    # name, dims (innermost first), type id, bytes
    tensors = [("a.f32", [4, 2], 0, 32), ("b.f16", [8], 1, 16),
               ("c.q8_0", [32, 2], 8, 68), ("d.q4_k", [256], 12, 144)]
    infos, off, blobs = [], 0, []
    for name, dims, typ, nbytes in tensors:
        infos.append(gstr(name) + struct.pack("<I", len(dims)) +
                     b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", typ, off))
        blob = bytes(i % 251 for i in range(nbytes))
        pad = (-nbytes) % 32
        blobs.append(blob + b"\0" * pad)
        off += nbytes + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv) + b"".join(infos)
    head += b"\0" * ((-len(head)) % 32)
    return head + b"".join(blobs)

def safetensors():
    dtypes = [("F64", 8), ("F32", 4), ("F16", 2), ("BF16", 2), ("F8_E4M3", 1), ("F8_E5M2", 1),
              ("I64", 8), ("I32", 4), ("I16", 2), ("I8", 1), ("U8", 1), ("BOOL", 1)]
    header, off = {"__metadata__": {"format": "pt", "note": "seed"}}, 0
    for i, (dt, size) in enumerate(dtypes):
        header[f"t{i}.{dt.lower()}"] = {"dtype": dt, "shape": [2, 3], "data_offsets": [off, off + 6 * size]}
        off += 6 * size
    header["empty"] = {"dtype": "F32", "shape": [0, 4], "data_offsets": [off, off]}
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + bytes(i % 127 for i in range(off))

with open("tests/fuzz/seeds/gguf/all-types.gguf", "wb") as f:
    f.write(gguf())
with open("tests/fuzz/seeds/safetensors/all-dtypes.safetensors", "wb") as f:
    f.write(safetensors())
