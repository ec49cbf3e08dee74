#!/usr/bin/python3
"""Make a small DeepSeek-V3 checkpoint with FP8 (e4m3fn) block-scaled weights, and the
values a correct converter must produce for them, computed here with NumPy alone.

Source: tests/data/hf/deepseek-v3-tiny. Output (tests/data/fp8/):
  ckpt/config.json                 the tiny config + quantization_config (fp8, blocks 32x16)
  ckpt/model-00001-of-00002.safetensors   every other tensor, stored as BF16
  ckpt/model-00002-of-00002.safetensors   the FP8 weights + their weight_scale_inv
  ckpt/model.safetensors.index.json
  expected.<hf name>.f32           dequantized FP8 weights, row-major float32
Block sizes 32 x 16 (instead of DeepSeek's 128 x 128) so that the tiny matrices span
several blocks, including partial ones (40 rows = 32 + 8).
Run from the repository root: /usr/bin/python3 tests/data/fp8/make_fp8.py
"""
import json, os, struct
import numpy as np

SRC = "tests/data/hf/deepseek-v3-tiny"
OUT = "tests/data/fp8"
B0, B1 = 32, 16
FP8 = ["model.layers.1.self_attn.q_b_proj.weight",           # 96 x 48
       "model.layers.1.self_attn.kv_a_proj_with_mqa.weight",  # 40 x 64 (partial row block)
       "model.layers.2.self_attn.o_proj.weight",              # 64 x 64
       "model.layers.2.mlp.experts.3.down_proj.weight"]       # 64 x 32

def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32"
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    return out

def write_st(path, tensors):
    hdr, blobs, off = {}, [], 0
    for k, (dtype, shape, raw) in tensors.items():
        hdr[k] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def e4m3_decode(b):
    b = b.astype(np.int64)
    s = np.where(b >> 7, -1.0, 1.0)
    e = (b >> 3) & 15
    m = b & 7
    v = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7))
    v = np.where((e == 15) & (m == 7), np.nan, v)
    return (s * v).astype(np.float32)

TABLE = e4m3_decode(np.arange(256))
FINITE = np.where(~np.isnan(TABLE))[0]

def e4m3_encode(x):
    d = np.abs(x.reshape(-1, 1).astype(np.float64) - TABLE[FINITE].reshape(1, -1))
    return FINITE[d.argmin(axis=1)].astype(np.uint8).reshape(x.shape)

def bf16_bytes(x):
    u = x.astype("<f4").view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype("<u2").tobytes()

def main():
    rng = np.random.default_rng(7)
    w = read_st(f"{SRC}/model.safetensors")
    os.makedirs(f"{OUT}/ckpt", exist_ok=True)
    cfg = json.load(open(f"{SRC}/config.json"))
    cfg["quantization_config"] = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                  "weight_block_size": [B0, B1]}
    json.dump(cfg, open(f"{OUT}/ckpt/config.json", "w"), indent=2)
    shard1 = {k: ("BF16", v.shape, bf16_bytes(v)) for k, v in w.items() if k not in FP8}
    shard2 = {}
    for name in FP8:
        x = w[name]
        x = x * rng.uniform(0.5, 4.0, size=(x.shape[0], 1)).astype(np.float32)   # uneven rows
        R, C = x.shape
        sr, sc = -(-R // B0), -(-C // B1)
        scale = np.zeros((sr, sc), np.float32)
        q = np.zeros((R, C), np.uint8)
        for i in range(sr):
            for j in range(sc):
                blk = x[i * B0:(i + 1) * B0, j * B1:(j + 1) * B1]
                s = np.float32(np.abs(blk).max() / 448.0)
                scale[i, j] = s
                q[i * B0:(i + 1) * B0, j * B1:(j + 1) * B1] = e4m3_encode(blk / s)
        shard2[name] = ("F8_E4M3", q.shape, q.tobytes())
        shard2[name + "_scale_inv"] = ("F32", scale.shape, scale.astype("<f4").tobytes())
        expect = e4m3_decode(q) * np.repeat(np.repeat(scale, B0, 0), B1, 1)[:R, :C]
        expect.astype("<f4").tofile(f"{OUT}/expected.{name}.f32")
    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    write_st(f"{OUT}/ckpt/{files[0]}", shard1)
    write_st(f"{OUT}/ckpt/{files[1]}", shard2)
    wm = {k: files[0] for k in shard1}
    wm.update({k: files[1] for k in shard2})
    json.dump({"metadata": {}, "weight_map": dict(sorted(wm.items()))}, open(f"{OUT}/ckpt/model.safetensors.index.json", "w"), indent=1)

main()
