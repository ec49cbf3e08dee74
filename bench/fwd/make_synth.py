#!/usr/bin/python3
"""Random-weight Hugging Face checkpoints with mid-size shapes, for measuring the forward
pass (not for quality): `make_synth.py deepseek2|qwen2 OUT_DIR`, then
`seek convert OUT_DIR -o model.gguf --type q8_0`. No tokenizer (bench/fwd/fwd_bench.c
feeds token ids)."""
import json, os, struct, sys
import numpy as np

kind, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
V, D = 16384, 1024
if kind == "deepseek2":
    cfg = dict(architectures=["DeepseekV3ForCausalLM"], model_type="deepseek_v3", vocab_size=V, hidden_size=D,
               intermediate_size=2816, moe_intermediate_size=512, num_hidden_layers=6, first_k_dense_replace=1,
               num_attention_heads=16, num_key_value_heads=16, q_lora_rank=384, kv_lora_rank=256,
               qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64, qk_head_dim=96, head_dim=32,
               n_routed_experts=16, num_experts_per_tok=4, n_shared_experts=1, n_group=4, topk_group=2,
               norm_topk_prob=True, routed_scaling_factor=2.5, rms_norm_eps=1e-6, rope_theta=10000.0,
               max_position_embeddings=8192, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1,
               rope_interleave=True, num_nextn_predict_layers=0, hidden_act="silu", attention_bias=False)
    H, nope, rope, hv, R, QL = 16, 64, 32, 64, 256, 384
    shapes = {"model.embed_tokens.weight": [V, D], "lm_head.weight": [V, D], "model.norm.weight": [D]}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": [D], p + "post_attention_layernorm.weight": [D],
                       p + "self_attn.q_a_proj.weight": [QL, D], p + "self_attn.q_a_layernorm.weight": [QL],
                       p + "self_attn.q_b_proj.weight": [H * (nope + rope), QL],
                       p + "self_attn.kv_a_proj_with_mqa.weight": [R + rope, D],
                       p + "self_attn.kv_a_layernorm.weight": [R],
                       p + "self_attn.kv_b_proj.weight": [H * (nope + hv), R],
                       p + "self_attn.o_proj.weight": [D, H * hv]})
        if l < cfg["first_k_dense_replace"]:
            F = cfg["intermediate_size"]
            shapes.update({p + "mlp.gate_proj.weight": [F, D], p + "mlp.up_proj.weight": [F, D], p + "mlp.down_proj.weight": [D, F]})
        else:
            F, E = cfg["moe_intermediate_size"], cfg["n_routed_experts"]
            shapes.update({p + "mlp.gate.weight": [E, D], p + "mlp.gate.e_score_correction_bias": [E]})
            for e in range(E):
                q = p + f"mlp.experts.{e}."
                shapes.update({q + "gate_proj.weight": [F, D], q + "up_proj.weight": [F, D], q + "down_proj.weight": [D, F]})
            q = p + "mlp.shared_experts."
            shapes.update({q + "gate_proj.weight": [F, D], q + "up_proj.weight": [F, D], q + "down_proj.weight": [D, F]})
elif kind == "qwen2":
    H, KV, F, L = 16, 2, 2816, 8
    cfg = dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=V, hidden_size=D, intermediate_size=F,
               num_hidden_layers=L, num_attention_heads=H, num_key_value_heads=KV, rms_norm_eps=1e-6,
               rope_theta=1000000.0, max_position_embeddings=8192, tie_word_embeddings=False, bos_token_id=0,
               eos_token_id=1, hidden_act="silu")
    hd = D // H
    shapes = {"model.embed_tokens.weight": [V, D], "lm_head.weight": [V, D], "model.norm.weight": [D]}
    for l in range(L):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": [D], p + "post_attention_layernorm.weight": [D],
                       p + "self_attn.q_proj.weight": [H * hd, D], p + "self_attn.q_proj.bias": [H * hd],
                       p + "self_attn.k_proj.weight": [KV * hd, D], p + "self_attn.k_proj.bias": [KV * hd],
                       p + "self_attn.v_proj.weight": [KV * hd, D], p + "self_attn.v_proj.bias": [KV * hd],
                       p + "self_attn.o_proj.weight": [D, H * hd],
                       p + "mlp.gate_proj.weight": [F, D], p + "mlp.up_proj.weight": [F, D], p + "mlp.down_proj.weight": [D, F]})
else:
    sys.exit("kind: deepseek2 or qwen2")
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
header, off = {}, 0
names = sorted(shapes)
for n in names:
    size = 4 * int(np.prod(shapes[n]))
    header[n] = {"dtype": "F32", "shape": shapes[n], "data_offsets": [off, off + size]}
    off += size
hb = json.dumps(header).encode()
hb += b" " * (-len(hb) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb)
    for n in names:
        s = shapes[n]
        if n.endswith("norm.weight") or n.endswith("layernorm.weight"):
            w = np.ones(s, np.float32)
        elif n.endswith("bias"):
            w = (0.02 * rng.standard_normal(s)).astype(np.float32) if "proj" in n else np.zeros(s, np.float32)
        elif "embed_tokens" in n:
            w = rng.standard_normal(s).astype(np.float32)
        else:
            w = (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)
        f.write(w.tobytes())
