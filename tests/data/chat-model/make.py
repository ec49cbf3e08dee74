#!/usr/bin/python3
"""make.py OUT_DIR - a tiny DeepSeek-V3-architecture checkpoint that talks like R1.

Random weights (seeded), but everything around them is real: the DeepSeek-V3
tokenizer (tests/data/tokenizer/deepseek-v3, the 128k id space trimmed to the tokens
the tokenizer tests use) and DeepSeek-R1's chat template, whose generation prompt
opens <think>. `seek convert OUT_DIR -o model.gguf` turns it into the model the
run/chat tests drive end to end. Layer shapes follow tests/data/hf/deepseek-v3-tiny
(MLA with q-LoRA, one dense block then MoE blocks with V3's biased group routing).
"""
import json, os, shutil, struct, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
VOCAB = 129280  # DeepSeek-V3's vocab_size: the tokenizer fills less of it, the rest is padding

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
src = os.path.join(DATA, "hf", "deepseek-v3-tiny")
cfg = json.load(open(os.path.join(src, "config.json")))
old_vocab = cfg["vocab_size"]
cfg.update(vocab_size=VOCAB, bos_token_id=0, eos_token_id=1, pad_token_id=1, max_position_embeddings=4096)
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)

raw = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
names = {k: v["shape"] for k, v in json.loads(raw[8:8 + n]).items() if k != "__metadata__"}

rng = np.random.default_rng(20261123)
header, blobs, off = {}, [], 0
for name in sorted(names):
    shape = [VOCAB if d == old_vocab else d for d in names[name]]
    if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
        w = np.ones(shape, np.float32)
    elif name.endswith("e_score_correction_bias"):
        w = np.zeros(shape, np.float32)
    elif "embed_tokens" in name:
        w = rng.standard_normal(shape).astype(np.float32)
    else:  # a matrix [out, in]: unit-variance outputs for unit-variance inputs
        w = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)
    b = w.tobytes()
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
hb = json.dumps(header).encode()
hb += b" " * (-len(hb) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb)
    for b in blobs:
        f.write(b)

tok = os.path.join(DATA, "tokenizer", "deepseek-v3")
shutil.copy(os.path.join(tok, "tokenizer.json"), out)
tc = json.load(open(os.path.join(tok, "tokenizer_config.json")))
tc["chat_template"] = open(os.path.join(DATA, "chat", "deepseek-r1-distill-qwen.jinja")).read()
json.dump(tc, open(os.path.join(out, "tokenizer_config.json"), "w"), ensure_ascii=False, indent=1)
