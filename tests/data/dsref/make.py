#!/usr/bin/env python3
"""Golden logits from DeepSeek's own reference implementation (inference/model.py of
deepseek-ai/DeepSeek-V3), for the cases the Hugging Face fixtures do not cover:

  v2-group   DeepSeek-V2 routing: softmax scores, group_limited_greedy (groups ranked by their
             best expert, no selection bias), no renormalisation, routed scaling, no q-LoRA
  mscale     YaRN with mscale != mscale_all_dim (model.py has one `mscale`, the softmax-scale
             one, i.e. the HF config's mscale_all_dim; the GGUF convention keeps only that one)
  mtp        DeepSeek-V3 layout (q-LoRA, sigmoid scores + selection bias, noaux_tc groups,
             renormalised weights) whose checkpoint also holds a multi-token-prediction layer
             (num_nextn_predict_layers = 1, tensors model.layers.{n_layers}.*); model.py does
             not run it, and seek must convert and load the file without choking on it

For each case this writes a Hugging Face-style checkpoint (config.json + model.safetensors,
float32) and golden.json + caseN.logits.f32 [T, V]: the logits at every position, obtained by
feeding the tokens one at a time through model.py's cache (its forward returns the last
position only), with both of its MLA implementations ("naive" and "absorb"), which must agree.

Usage: /usr/bin/python3 make.py DEEPSEEK_V3_INFERENCE_DIR OUT_DIR
(needs python3-torch; model.py's kernel.py needs triton, which is stubbed out: only its FP8
paths use it.) The golden files in this folder were made with torch 1.13 (Debian 12) and
DeepSeek-V3 at the revision named in README.md.
"""
import json, math, os, struct, sys, types

import torch
import torch.nn.functional as F

src, out_root = sys.argv[1], sys.argv[2]

# --- make model.py importable on a CPU-only torch 1.13 -----------------------------------
kernel = types.ModuleType("kernel")
def _no_fp8(*a, **k): raise RuntimeError("FP8 kernels are not used here")
kernel.act_quant = kernel.weight_dequant = kernel.fp8_gemm = _no_fp8
sys.modules["kernel"] = kernel
if not hasattr(F, "rms_norm"):   # torch < 2.4
    def _rms_norm(x, shape, weight, eps):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight
    F.rms_norm = _rms_norm
sys.path.insert(0, src)
import model as ref   # noqa: E402

torch.set_num_threads(1)

CASES = {
    "v2-group": dict(
        hf=dict(model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"], topk_method="group_limited_greedy",
                scoring_func="softmax", norm_topk_prob=False, q_lora_rank=None,
                rope_scaling=dict(type="yarn", factor=4.0, original_max_position_embeddings=64, beta_fast=32,
                                  beta_slow=1, mscale=0.707, mscale_all_dim=0.707)),
        args=dict(q_lora_rank=0, score_func="softmax", n_expert_groups=4, n_limited_groups=2, route_scale=2.0,
                  mscale=0.707),
        bias=False, mtp=False),
    "mscale": dict(
        hf=dict(model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"], topk_method="greedy",
                scoring_func="softmax", norm_topk_prob=False, q_lora_rank=None,
                rope_scaling=dict(type="yarn", factor=8.0, original_max_position_embeddings=64, beta_fast=32,
                                  beta_slow=1, mscale=0.3, mscale_all_dim=0.8)),
        args=dict(q_lora_rank=0, score_func="softmax", n_expert_groups=1, n_limited_groups=1, route_scale=1.0,
                  mscale=0.8, rope_factor=8.0, max_seq_len=512),
        bias=False, mtp=False),
    "mtp": dict(
        hf=dict(model_type="deepseek_v3", architectures=["DeepseekV3ForCausalLM"], topk_method="noaux_tc",
                scoring_func="sigmoid", norm_topk_prob=True, q_lora_rank=24, num_nextn_predict_layers=1,
                rope_scaling=dict(type="yarn", factor=4.0, original_max_position_embeddings=64, beta_fast=32,
                                  beta_slow=1, mscale=1.0, mscale_all_dim=1.0)),
        args=dict(q_lora_rank=24, score_func="sigmoid", n_expert_groups=4, n_limited_groups=2, route_scale=2.5,
                  mscale=1.0),
        bias=True, mtp=True),
}

# shared shape: small, but every dimension distinct so a transposed weight cannot pass
BASE = dict(vocab_size=320, dim=64, inter_dim=96, moe_inter_dim=32, n_layers=3, n_dense_layers=1, n_heads=4,
            n_routed_experts=8, n_shared_experts=1, n_activated_experts=3, kv_lora_rank=32, qk_nope_head_dim=16,
            qk_rope_head_dim=8, v_head_dim=20, original_seq_len=64, rope_theta=10000.0, rope_factor=4.0,
            beta_fast=32, beta_slow=1, max_seq_len=256, max_batch_size=1)
T = 80   # > original_seq_len, so the YaRN ramp matters


def hf_name(n):
    """model.py parameter name -> Hugging Face checkpoint name."""
    m = {"embed.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight", "head.weight": "lm_head.weight"}
    if n in m:
        return m[n]
    p = n.split(".")
    assert p[0] == "layers"
    pre = f"model.layers.{p[1]}."
    rest = ".".join(p[2:])
    tbl = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
           "attn.wq.weight": "self_attn.q_proj.weight", "attn.wq_a.weight": "self_attn.q_a_proj.weight",
           "attn.q_norm.weight": "self_attn.q_a_layernorm.weight", "attn.wq_b.weight": "self_attn.q_b_proj.weight",
           "attn.wkv_a.weight": "self_attn.kv_a_proj_with_mqa.weight",
           "attn.kv_norm.weight": "self_attn.kv_a_layernorm.weight", "attn.wkv_b.weight": "self_attn.kv_b_proj.weight",
           "attn.wo.weight": "self_attn.o_proj.weight", "ffn.gate.weight": "mlp.gate.weight",
           "ffn.gate.bias": "mlp.gate.e_score_correction_bias"}
    if rest in tbl:
        return pre + tbl[rest]
    w = {"w1": "gate_proj", "w2": "down_proj", "w3": "up_proj"}
    q = rest.split(".")
    if q[0] == "ffn" and q[1] in w:                                   # dense MLP
        return pre + f"mlp.{w[q[1]]}.weight"
    if q[0] == "ffn" and q[1] == "experts":                           # routed expert
        return pre + f"mlp.experts.{q[2]}.{w[q[3]]}.weight"
    if q[0] == "ffn" and q[1] == "shared_experts":
        return pre + f"mlp.shared_experts.{w[q[2]]}.weight"
    raise KeyError(n)


def fill(model, gen, bias):
    """Random weights scaled so activations stay of order 1 (differences then show)."""
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.data = 1.0 + 0.2 * torch.randn(p.shape, generator=gen)
        elif p.dim() == 2:
            p.data = torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1])
            if name == "embed.weight":
                p.data *= math.sqrt(p.shape[1])
        else:
            p.data = torch.randn(p.shape, generator=gen)
    if bias:   # model.py only creates the selection bias for dim 7168 (the 671B model)
        for blk in model.layers:
            if isinstance(blk.ffn, ref.MoE):
                blk.ffn.gate.bias = torch.nn.Parameter(0.05 * torch.randn(blk.ffn.gate.weight.shape[0], generator=gen))


def logits_all(model, tokens):
    out = []
    for i, t in enumerate(tokens):
        out.append(model(torch.tensor([[t]]), start_pos=i)[0].float())
    return torch.stack(out)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


for ci, (case, spec) in enumerate(CASES.items()):
    a = dict(BASE, **spec["args"])
    args = ref.ModelArgs(**a)
    gen = torch.Generator().manual_seed(1000 + ci)
    results = {}
    for impl in ("naive", "absorb"):
        ref.attn_impl = impl
        torch.manual_seed(0)
        model = ref.Transformer(args).float()
        fill(model, torch.Generator().manual_seed(1000 + ci), spec["bias"])
        tokens = torch.randint(0, a["vocab_size"], (T,), generator=torch.Generator().manual_seed(7 + ci)).tolist()
        with torch.inference_mode():
            results[impl] = logits_all(model, tokens)
    lg = results["absorb"]
    rel = (results["naive"] - lg).abs().max().item() / lg.abs().max().item()
    assert rel < 1e-5, f"{case}: model.py's naive and absorbed MLA differ by {rel}"

    tensors = {hf_name(n): p.detach() for n, p in model.named_parameters()}
    if spec["mtp"]:   # an extra MTP block: a copy-shaped MoE layer plus the nextn projections
        L, D, V = a["n_layers"], a["dim"], a["vocab_size"]
        src_l = L - 1
        for n, t in list(tensors.items()):
            if n.startswith(f"model.layers.{src_l}."):
                tensors[n.replace(f"model.layers.{src_l}.", f"model.layers.{L}.")] = torch.randn(t.shape, generator=gen) * 0.1
        tensors[f"model.layers.{L}.eh_proj.weight"] = torch.randn(D, 2 * D, generator=gen) * 0.1
        tensors[f"model.layers.{L}.enorm.weight"] = torch.ones(D)
        tensors[f"model.layers.{L}.hnorm.weight"] = torch.ones(D)
        tensors[f"model.layers.{L}.shared_head.norm.weight"] = torch.ones(D)
        tensors[f"model.layers.{L}.shared_head.head.weight"] = torch.randn(V, D, generator=gen) * 0.1
        tensors[f"model.layers.{L}.embed_tokens.weight"] = torch.randn(V, D, generator=gen) * 0.1

    hf = dict(vocab_size=a["vocab_size"], hidden_size=a["dim"], intermediate_size=a["inter_dim"],
              moe_intermediate_size=a["moe_inter_dim"], num_hidden_layers=a["n_layers"],
              first_k_dense_replace=a["n_dense_layers"], moe_layer_freq=1, num_attention_heads=a["n_heads"],
              num_key_value_heads=a["n_heads"], n_routed_experts=a["n_routed_experts"],
              n_shared_experts=a["n_shared_experts"], num_experts_per_tok=a["n_activated_experts"],
              n_group=a["n_expert_groups"], topk_group=a["n_limited_groups"], routed_scaling_factor=a["route_scale"],
              kv_lora_rank=a["kv_lora_rank"], qk_nope_head_dim=a["qk_nope_head_dim"],
              qk_rope_head_dim=a["qk_rope_head_dim"], v_head_dim=a["v_head_dim"], rope_theta=a["rope_theta"],
              rms_norm_eps=1e-6, max_position_embeddings=a["max_seq_len"], tie_word_embeddings=False,
              hidden_act="silu", torch_dtype="float32")
    hf.update(spec["hf"])
    d = os.path.join(out_root, case)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf, f, indent=1)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    lg.numpy().astype("<f4").tofile(os.path.join(d, "case0.logits.f32"))
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump({"source": "deepseek-ai/DeepSeek-V3 inference/model.py, float32, token by token",
                   "naive_vs_absorb_rel": rel,
                   "cases": [{"tokens": tokens, "logits_file": "case0.logits.f32", "logits_shape": list(lg.shape)}]},
                  f, indent=1)
    print(f"{case}: T={len(tokens)} V={lg.shape[1]} naive/absorb rel diff {rel:.2e}")
