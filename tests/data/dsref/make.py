#!/usr/bin/python3
"""Golden logits from DeepSeek's own reference implementation.

Usage: /usr/bin/python3 tests/data/dsref/make.py PATH/TO/DeepSeek-V3/inference/model.py

Runs `inference/model.py` of github.com/deepseek-ai/DeepSeek-V3 (not part of this repo;
give its path; it was commit 9b4e9788e4a3a731f7567338ed15d3ec549ce03b) on CPU with Debian's
python3-torch, in float32, over tiny random checkpoints this script writes in the Hugging
Face layout (config.json + model.safetensors). For each model directory it writes
golden.json (the tokens, the greedy continuation) and case0.logits.f32 ([T][V] logits:
position t from model.py run on tokens[0..t]). What each fixture covers is in README.md.

Only two things are supplied around model.py, neither of them model code: a stand-in for
its `kernel` module (Triton FP8 kernels, unused with float32 weights) and, on torch < 2.4,
torch.nn.functional.rms_norm written out from its definition."""
import importlib.util
import json
import math
import os
import struct
import sys
import types

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

def load_reference(path):
    kernel = types.ModuleType("kernel")
    def unused(*a, **k):
        raise RuntimeError("FP8 kernels are not used by these fixtures")
    kernel.act_quant = kernel.weight_dequant = kernel.fp8_gemm = unused
    sys.modules["kernel"] = kernel
    if not hasattr(F, "rms_norm"):
        def rms_norm(x, shape, weight, eps):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight
        F.rms_norm = rms_norm
    spec = importlib.util.spec_from_file_location("ds_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

# ---- tiny checkpoints in the Hugging Face layout ----------------------------------------

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def make_weights(c, g, n_layers_total):
    """HF-named random weights; layers >= num_hidden_layers are the MTP block."""
    D, H = c["hidden_size"], c["num_attention_heads"]
    nope, rope, hv, R = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"]
    def lin(o, i, gain=1.0):
        return torch.randn(o, i, generator=g) * (gain / math.sqrt(i))
    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=g)
    w = {"model.embed_tokens.weight": torch.randn(c["vocab_size"], D, generator=g),
         "model.norm.weight": norm(D), "lm_head.weight": lin(c["vocab_size"], D)}
    for l in range(n_layers_total):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = norm(D)
        w[p + "post_attention_layernorm.weight"] = norm(D)
        if c.get("q_lora_rank"):
            w[p + "self_attn.q_a_proj.weight"] = lin(c["q_lora_rank"], D)
            w[p + "self_attn.q_a_layernorm.weight"] = norm(c["q_lora_rank"])
            w[p + "self_attn.q_b_proj.weight"] = lin(H * (nope + rope), c["q_lora_rank"])
        else:
            w[p + "self_attn.q_proj.weight"] = lin(H * (nope + rope), D)
        w[p + "self_attn.kv_a_proj_with_mqa.weight"] = lin(R + rope, D)
        w[p + "self_attn.kv_a_layernorm.weight"] = norm(R)
        w[p + "self_attn.kv_b_proj.weight"] = lin(H * (nope + hv), R)
        w[p + "self_attn.o_proj.weight"] = lin(D, H * hv)
        if l < c["first_k_dense_replace"]:
            F_ = c["intermediate_size"]
            w[p + "mlp.gate_proj.weight"] = lin(F_, D)
            w[p + "mlp.up_proj.weight"] = lin(F_, D)
            w[p + "mlp.down_proj.weight"] = lin(D, F_)
        else:
            E, Fe = c["n_routed_experts"], c["moe_intermediate_size"]
            w[p + "mlp.gate.weight"] = lin(E, D, 4.0)   # a decisive router: no near-ties
            for e in range(E):
                q = p + "mlp.experts.%d." % e
                w[q + "gate_proj.weight"] = lin(Fe, D)
                w[q + "up_proj.weight"] = lin(Fe, D)
                w[q + "down_proj.weight"] = lin(D, Fe)
            S = Fe * c["n_shared_experts"]
            if S:
                w[p + "mlp.shared_experts.gate_proj.weight"] = lin(S, D)
                w[p + "mlp.shared_experts.up_proj.weight"] = lin(S, D)
                w[p + "mlp.shared_experts.down_proj.weight"] = lin(D, S)
        if l >= c["num_hidden_layers"]:   # the MTP block's own tensors
            w[p + "enorm.weight"] = norm(D)
            w[p + "hnorm.weight"] = norm(D)
            w[p + "eh_proj.weight"] = lin(D, 2 * D)
            w[p + "embed_tokens.weight"] = torch.randn(c["vocab_size"], D, generator=g)
            w[p + "shared_head.norm.weight"] = norm(D)
            w[p + "shared_head.head.weight"] = lin(c["vocab_size"], D)
    return w

# HF names -> model.py names (DeepSeek's inference/README documents the same mapping)
RENAME = [("model.embed_tokens", "embed"), ("model.norm", "norm"), ("lm_head", "head"), ("model.layers", "layers"),
          ("input_layernorm", "attn_norm"), ("post_attention_layernorm", "ffn_norm"), ("self_attn", "attn"),
          ("q_a_proj", "wq_a"), ("q_a_layernorm", "q_norm"), ("q_b_proj", "wq_b"), ("q_proj", "wq"),
          ("kv_a_proj_with_mqa", "wkv_a"), ("kv_a_layernorm", "kv_norm"), ("kv_b_proj", "wkv_b"), ("o_proj", "wo"),
          ("mlp", "ffn"), ("gate_proj", "w1"), ("down_proj", "w2"), ("up_proj", "w3")]

def to_reference_names(w, n_layer):
    out = {}
    for k, v in w.items():
        parts = k.split(".")
        if parts[1] == "layers" and int(parts[2]) >= n_layer:
            continue   # model.py has no MTP block: the checkpoint's extra layer is not loaded
        for a, b in RENAME:
            k = k.replace(a, b)
        out[k] = v
    return out

def model_args(ref, c):
    rs = c.get("rope_scaling") or {}
    return ref.ModelArgs(
        max_batch_size=1, max_seq_len=256, dtype="bf16", vocab_size=c["vocab_size"], dim=c["hidden_size"],
        inter_dim=c["intermediate_size"], moe_inter_dim=c["moe_intermediate_size"], n_layers=c["num_hidden_layers"],
        n_dense_layers=c["first_k_dense_replace"], n_heads=c["num_attention_heads"],
        n_routed_experts=c["n_routed_experts"], n_shared_experts=c["n_shared_experts"],
        n_activated_experts=c["num_experts_per_tok"], n_expert_groups=c["n_group"], n_limited_groups=c["topk_group"],
        score_func=c["scoring_func"], route_scale=c["routed_scaling_factor"], q_lora_rank=c.get("q_lora_rank") or 0,
        kv_lora_rank=c["kv_lora_rank"], qk_nope_head_dim=c["qk_nope_head_dim"], qk_rope_head_dim=c["qk_rope_head_dim"],
        v_head_dim=c["v_head_dim"], original_seq_len=rs["original_max_position_embeddings"],
        rope_theta=c["rope_theta"], rope_factor=rs["factor"], beta_fast=rs["beta_fast"], beta_slow=rs["beta_slow"],
        # model.py has one mscale, used for the softmax scale: DeepSeek's configs for it carry
        # the HF config's mscale_all_dim (HF's mscale only rescales cos/sin, which model.py omits)
        mscale=rs["mscale_all_dim"])

def base_config(**kw):
    c = {"architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "vocab_size": 256,
         "hidden_size": 64, "intermediate_size": 128, "moe_intermediate_size": 32, "num_hidden_layers": 3,
         "first_k_dense_replace": 1, "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": None,
         "kv_lora_rank": 32, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
         "n_routed_experts": 16, "n_shared_experts": 1, "num_experts_per_tok": 3, "n_group": 4, "topk_group": 2,
         "topk_method": "group_limited_greedy", "scoring_func": "softmax", "norm_topk_prob": False,
         "routed_scaling_factor": 1.5, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 256,
         "tie_word_embeddings": False, "moe_layer_freq": 1, "num_nextn_predict_layers": 0,
         "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 32,
                          "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707}}
    c.update(kw)
    return c

FIXTURES = {
    # V2's group-limited greedy routing: softmax scores, groups ranked by their best expert
    "v2-group-limited": base_config(),
    # rope_scaling mscale != mscale_all_dim (only mscale_all_dim enters the softmax scale)
    "v2-mscale-differs": base_config(
        n_group=1, topk_group=1, topk_method="greedy", num_experts_per_tok=2, n_routed_experts=8,
        rope_scaling={"type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32, "beta_fast": 32,
                      "beta_slow": 1, "mscale": 0.5, "mscale_all_dim": 1.0}),
    # V3 layout with a multi-token-prediction block (model.layers.3) that seek must skip;
    # sigmoid scores, q-LoRA, normalised top-k weights
    "v3-mtp": base_config(
        architectures=["DeepseekV3ForCausalLM"], model_type="deepseek_v3", q_lora_rank=48, scoring_func="sigmoid",
        topk_method="noaux_tc", norm_topk_prob=True, routed_scaling_factor=2.5, num_nextn_predict_layers=1,
        n_shared_experts=2, rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                                          "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}),
}

def route_margin(ref, model, tokens):
    """Smallest gap between the last chosen and the first rejected expert/group over all
    routed tokens: a near-tie would make the fixture fragile against summation order."""
    gaps = []
    orig = ref.Gate.forward
    def spy(self, x):
        s = F.linear(x, self.weight)
        s = s.softmax(-1) if self.score_func == "softmax" else s.sigmoid()
        if self.n_groups > 1:
            gs = s.view(x.size(0), self.n_groups, -1).amax(-1).sort(-1, descending=True)[0]
            gaps.append((gs[:, self.topk_groups - 1] - gs[:, self.topk_groups]).min().item())
        w, idx = orig(self, x)
        ss = s.clone()
        if self.n_groups > 1:
            keep = s.view(x.size(0), self.n_groups, -1).amax(-1).topk(self.topk_groups, -1)[1]
            m = torch.ones(x.size(0), self.n_groups, dtype=torch.bool).scatter_(1, keep, False)
            ss = ss.view(x.size(0), self.n_groups, -1).masked_fill(m.unsqueeze(-1), -1.0).flatten(1)
        top = ss.sort(-1, descending=True)[0]
        gaps.append((top[:, self.topk - 1] - top[:, self.topk]).min().item())
        return w, idx
    ref.Gate.forward = spy
    model(torch.tensor([tokens]), 0)
    ref.Gate.forward = orig
    return min(gaps)

def main():
    ref = load_reference(sys.argv[1])
    torch.manual_seed(0)
    for name, c in FIXTURES.items():
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        n_mtp = c["num_nextn_predict_layers"]
        for seed in range(100):
            g = torch.Generator().manual_seed(1000 + seed)
            w = make_weights(c, g, c["num_hidden_layers"] + n_mtp)
            model = ref.Transformer(model_args(ref, c))
            model.float()   # model.py builds bf16 Linear weights: make them f32 before loading
            missing, unexpected = model.load_state_dict(to_reference_names(w, c["num_hidden_layers"]), strict=False)
            assert not unexpected and all("cache" in k or "freqs" in k for k in missing), (missing, unexpected)
            tokens = torch.randint(0, c["vocab_size"], (24,), generator=g).tolist()
            margin = route_margin(ref, model, tokens)
            if margin > 2e-4:
                break
        # logits at every position: model.py returns the last position's, so run each prefix
        T, V = len(tokens), c["vocab_size"]
        logits = torch.stack([model(torch.tensor([tokens[:t + 1]]), 0)[0] for t in range(T)])
        # greedy continuation through model.py's own KV cache (decode path)
        model(torch.tensor([tokens]), 0)
        nxt, cont = int(logits[-1].argmax()), []
        for i in range(16):
            cont.append(nxt)
            nxt = int(model(torch.tensor([[nxt]]), T + i)[0].argmax())
        write_safetensors(os.path.join(d, "model.safetensors"), w)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f, indent=1)
        logits.to(torch.float32).numpy().astype("<f4").tofile(os.path.join(d, "case0.logits.f32"))
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump({"reference": "deepseek-ai/DeepSeek-V3 inference/model.py @ 9b4e9788e4a3a731f7567338ed15d3ec549ce03b",
                       "torch": torch.__version__, "weights_seed": 1000 + seed, "min_routing_margin": margin,
                       "tokens": tokens, "logits_file": "case0.logits.f32", "logits_shape": [T, V],
                       "greedy_continuation": cont}, f, indent=1)
        print(name, "seed", 1000 + seed, "routing margin %.4f" % margin, "max |logit| %.3f" % logits.abs().max())

main()
