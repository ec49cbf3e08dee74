#!/usr/bin/python3
"""Write the seeds of the model / config.json / tokenizer / chat fuzzers and the regression
inputs of issue 13 (stdlib only; run from the repo root):
  tests/fuzz/seeds/model/{llama,deepseek2}.gguf      tiny but complete models (F32)
  tests/fuzz/seeds/hfconfig/*.json                   the fixture configs
  tests/fuzz/seeds/tokenizer/*.bin                   a small byte-level BPE tokenizer.json
                                                     (DeepSeek-V3's pre-tokenizer, added
                                                     tokens) + NUL + text
  tests/fuzz/seeds/chat/*.bin                        each fixture template + NUL-separated
                                                     messages (first byte: role)
  tests/data/fuzz-regress/model/, hfconfig/          the shapes of issue 13's bugs"""
import json
import os
import struct
import random

def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b

def gguf(kvs, tensors):
    """kvs: [(key, type, payload)], tensors: [(name, dims innermost first)] as F32."""
    kv = [gstr(k) + struct.pack("<I", t) + p for k, t, p in kvs]
    rnd = random.Random(1)
    infos, blobs, off = [], [], 0
    for name, dims in tensors:
        n = 1
        for d in dims:
            n *= d
        infos.append(gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
                     + struct.pack("<IQ", 0, off))
        blob = struct.pack("<%df" % n, *[1.0 if name.endswith("norm.weight") else rnd.uniform(-0.5, 0.5)
                                         for _ in range(n)])
        blob += b"\0" * ((-len(blob)) % 32)
        blobs.append(blob)
        off += len(blob)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv) + b"".join(infos)
    head += b"\0" * ((-len(head)) % 32)
    return head + b"".join(blobs)

U32, F32, STR, BOOL = 4, 6, 8, 7
def u(k, v): return (k, U32, struct.pack("<I", v))
def f(k, v): return (k, F32, struct.pack("<f", v))
def s(k, v): return (k, STR, gstr(v))

def llama():
    D, V, F, H = 8, 16, 16, 2
    kv = [s("general.architecture", "llama"), u("llama.block_count", 1), u("llama.embedding_length", D),
          u("llama.attention.head_count", H), u("llama.attention.head_count_kv", 1), u("llama.feed_forward_length", F),
          f("llama.attention.layer_norm_rms_epsilon", 1e-5), u("llama.context_length", 64)]
    t = [("token_embd.weight", [D, V]), ("output_norm.weight", [D]), ("blk.0.attn_norm.weight", [D]),
         ("blk.0.ffn_norm.weight", [D]), ("blk.0.attn_q.weight", [D, D]), ("blk.0.attn_k.weight", [D, D // H]),
         ("blk.0.attn_v.weight", [D, D // H]), ("blk.0.attn_output.weight", [D, D]),
         ("blk.0.ffn_gate.weight", [D, F]), ("blk.0.ffn_up.weight", [D, F]), ("blk.0.ffn_down.weight", [F, D])]
    return gguf(kv, t)

def deepseek2(n_layer=2, extra=()):
    D, V, H, R, nope, rope, hv, F, E, FE = 8, 16, 2, 4, 4, 2, 4, 16, 4, 4
    a = "deepseek2."
    kv = [s("general.architecture", "deepseek2"), u(a + "block_count", n_layer), u(a + "embedding_length", D),
          u(a + "attention.head_count", H), u(a + "feed_forward_length", F),
          f(a + "attention.layer_norm_rms_epsilon", 1e-6), u(a + "attention.kv_lora_rank", R),
          u(a + "attention.q_lora_rank", 0), u(a + "attention.key_length", nope + rope),
          u(a + "attention.value_length", hv), u(a + "rope.dimension_count", rope),
          u(a + "leading_dense_block_count", 1), u(a + "expert_count", E), u(a + "expert_used_count", 2),
          u(a + "expert_shared_count", 1), u(a + "expert_feed_forward_length", FE), u(a + "expert_gating_func", 2),
          u(a + "expert_group_count", 2), u(a + "expert_group_used_count", 1), f(a + "expert_weights_scale", 2.5),
          s(a + "rope.scaling.type", "yarn"), f(a + "rope.scaling.factor", 4.0),
          u(a + "rope.scaling.original_context_length", 16), f(a + "rope.scaling.yarn_log_multiplier", 0.1)]
    kv = [x for x in kv if x[0] not in {e[0] for e in extra}] + list(extra)
    t = [("token_embd.weight", [D, V]), ("output_norm.weight", [D]), ("output.weight", [D, V])]
    for l in range(n_layer):
        b = "blk.%d." % l
        t += [(b + "attn_norm.weight", [D]), (b + "ffn_norm.weight", [D]), (b + "attn_q.weight", [D, H * (nope + rope)]),
              (b + "attn_kv_a_mqa.weight", [D, R + rope]), (b + "attn_kv_a_norm.weight", [R]),
              (b + "attn_kv_b.weight", [R, H * (nope + hv)]), (b + "attn_output.weight", [H * hv, D])]
        if l == 0:
            t += [(b + "ffn_gate.weight", [D, F]), (b + "ffn_up.weight", [D, F]), (b + "ffn_down.weight", [F, D])]
        else:
            t += [(b + "ffn_gate_inp.weight", [D, E]), (b + "exp_probs_b.bias", [E]),
                  (b + "ffn_gate_exps.weight", [D, FE, E]), (b + "ffn_up_exps.weight", [D, FE, E]),
                  (b + "ffn_down_exps.weight", [FE, D, E]), (b + "ffn_gate_shexp.weight", [D, FE]),
                  (b + "ffn_up_shexp.weight", [D, FE]), (b + "ffn_down_shexp.weight", [FE, D])]
    return gguf(kv, t)

def tokenizer():
    # a byte-level BPE over the 256 byte symbols plus a few merges and added tokens
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    sym = [chr(c) for c in cs]
    vocab = {c: i for i, c in enumerate(sym)}
    merges = []
    for a, b in [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("1", "2")]:
        merges.append(a + " " + b); vocab[a + b] = len(vocab)
    added = [{"id": len(vocab) + i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": sp} for i, (c, sp) in enumerate(
                  [("<｜begin▁of▁sentence｜>", True), ("<｜User｜>", True), ("<think>", False), ("<|a|>", True)])]
    pre = json.load(open("tests/data/tokenizer/deepseek-v3/tokenizer.json"))["pre_tokenizer"]
    tj = {"version": "1.0", "added_tokens": added, "normalizer": None, "pre_tokenizer": pre,
          "post_processor": None, "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "vocab": vocab, "merges": merges}}
    return json.dumps(tj, ensure_ascii=False).encode()

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)

write("tests/fuzz/seeds/model/llama.gguf", llama())
write("tests/fuzz/seeds/model/deepseek2.gguf", deepseek2())
for name in ["llama-tiny", "qwen2-tiny", "deepseek-v2-lite-tiny", "deepseek-v3-tiny"]:
    write("tests/fuzz/seeds/hfconfig/%s.json" % name, open("tests/data/hf/%s/config.json" % name, "rb").read())
write("tests/fuzz/seeds/hfconfig/fp8.json", open("tests/data/fp8/ckpt/config.json", "rb").read())
tj = tokenizer()
write("tests/fuzz/seeds/tokenizer/bpe.bin", tj + b"\0" + "<｜User｜>the 123 12345 中文 かな<think>\n\n  x!!".encode())
write("tests/fuzz/seeds/tokenizer/spaces.bin", tj + b"\0" + b" " * 3000 + b"a\t\t\n \n")
msgs = b"\0".join([b"\x00be brief", b"\x01hello \xe4\xb8\xad", b"\x02why\x01hi", b"\x01</think>again"])
for j in sorted(os.listdir("tests/data/chat")):
    if j.endswith(".jinja"):
        write("tests/fuzz/seeds/chat/%s.bin" % j[:-6], open("tests/data/chat/" + j, "rb").read() + b"\0" + msgs)

# issue 13: the shapes that crashed or overflowed
write("tests/data/fuzz-regress/model/moe-sizes-without-moe-blocks.gguf",
      deepseek2(1, [u("deepseek2.leading_dense_block_count", 1), u("deepseek2.expert_feed_forward_length", 1 << 24),
                    u("deepseek2.expert_shared_count", 65536)]))
write("tests/data/fuzz-regress/model/moe-shared-100.gguf",
      deepseek2(1, [u("deepseek2.leading_dense_block_count", 1), u("deepseek2.expert_feed_forward_length", 1 << 24),
                    u("deepseek2.expert_shared_count", 100)]))
v3 = json.load(open("tests/data/hf/deepseek-v3-tiny/config.json"))
def cfg(name, **kw):
    c = dict(v3); c.update(kw)
    write("tests/data/fuzz-regress/hfconfig/%s.json" % name, json.dumps(c).encode())
cfg("fp8-block-2-32", quantization_config={"quant_method": "fp8", "weight_block_size": [4294967296, 128]})
cfg("qk-dims-2-30", qk_nope_head_dim=2 ** 30, qk_rope_head_dim=2 ** 30)
cfg("eps-1e-300", rms_norm_eps=1e-300)
cfg("routed-scale-1e39", routed_scaling_factor=1e39)
cfg("rope-factor-1e300", rope_parameters=dict(v3["rope_parameters"], factor=1e300))
l3 = json.load(open("tests/data/hf/llama-tiny/config.json"))
l3.update(head_dim=2 ** 30, rope_scaling={"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 64})
write("tests/data/fuzz-regress/hfconfig/llama3-head-dim-2-30.json", json.dumps(l3).encode())
