#!/usr/bin/python3
"""Write model.safetensors.expected: what test_safetensors must find in the
checkpoint, read here independently of the C reader (Python json + numpy).

One line per tensor, sorted by name:
    name dtype n_dims d0 d1 ... begin end sum sum_abs
begin/end are the header's data_offsets; sum and sum_abs are float64 sums of
the tensor's values. Run from this folder: /usr/bin/python3 make_expected.py
"""
import json
import struct

import numpy as np

with open("model.safetensors", "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
header.pop("__metadata__", None)
np_dtype = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}
with open("model.safetensors.expected", "w") as out:
    for name in sorted(header):
        e = header[name]
        b, end = e["data_offsets"]
        v = np.frombuffer(data[b:end], dtype=np_dtype[e["dtype"]]).astype(np.float64)
        dims = " ".join(str(d) for d in e["shape"])
        out.write(f"{name} {e['dtype']} {len(e['shape'])} {dims} {b} {end} "
                  f"{v.sum():.17g} {np.abs(v).sum():.17g}\n")
