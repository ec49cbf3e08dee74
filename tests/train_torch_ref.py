#!/usr/bin/python3
"""train_torch_ref.py DIR - an independent PyTorch (float64) implementation of seek's training
model, used by tests/test_train_torch.c to check the C trainer.

The model, from DeepSeek-V3's description:
  block(x):  h = x + MLA(rmsnorm(x));  out = h + FFN(rmsnorm(h))
  MLA:       q = W_qb rmsnorm(W_qa xn) per head [q_nope ; q_pe];  [c ; k_pe] = W_kva xn;
             c = rmsnorm(c);  [k_nope ; v] = W_kvb c per head;  RoPE on adjacent pairs of q_pe
             and k_pe (k_pe shared by the heads);  causal softmax(q.k / sqrt(nope + rope));  W_o
  FFN:       SwiGLU W_down (silu(W_gate xn) * W_up xn) for the first n_dense blocks; else MoE:
             s = sigmoid(W_r xn); top-K of s + bias; weights s_k / sum s_k * route_scale;
             out = shared(xn) + sum_k w_k expert_k(xn)
  head:      logits = W_out rmsnorm(x_L)
  MTP:       m = W_eh [enorm(E[t+1]) ; hnorm(rmsnorm(x_L))]; block; W_out shared_head_norm(.)
  loss:      CE(next) + lambda CE(after next) + alpha * mean over sequences of
             sum_e f_e P_e (f_e = E/(K T) count, P_e = mean_t s_e / sum s)
Optimiser: torch.optim.AdamW (decay on matrices only), global-norm clipping, warm-up + cosine,
and after each step the selection bias moves by gamma * sign(mean load - load).
Prints "ok"/"FAIL" lines for the C test harness; exit status 1 on a failure.
"""
import json, math, os, sys
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
D_ = sys.argv[1]
meta = json.load(open(os.path.join(D_, "meta.json")))
flat = np.fromfile(os.path.join(D_, "params.bin"), dtype=np.float32)
cgrad = np.fromfile(os.path.join(D_, "grads.bin"), dtype=np.float32)
globals().update({k: meta[k] for k in ("V", "D", "L", "n_dense", "H", "QL", "R", "nope", "rope", "hv", "F", "E", "K",
                                       "n_shared", "Fe", "mtp", "eps", "rope_base", "route_scale", "B", "T")})
hk = nope + rope

P, kinds, offs = {}, {}, {}
for t in meta["tensors"]:
    n = t["ne"][0] * t["ne"][1] * t["ne"][2]
    shape = list(reversed(t["ne"][: t["nd"]]))
    P[t["name"]] = torch.tensor(flat[t["off"]: t["off"] + n].astype(np.float64).reshape(shape),
                                requires_grad=t["kind"] != 2)
    kinds[t["name"]], offs[t["name"]] = t["kind"], (t["off"], n, shape)

tok = torch.tensor(meta["tokens"]).view(B, T + 1)
inp, tgt = tok[:, :T], tok[:, 1:]
tgt2 = torch.full((B, T), -1, dtype=torch.long)
tgt2[:, : T - 1] = tok[:, 2:]

pos = torch.arange(T, dtype=torch.float64)
inv = rope_base ** (-torch.arange(0, rope, 2, dtype=torch.float64) / rope)
ang = pos[:, None] * inv[None, :]            # [T][rope/2]
cos, sin = torch.cos(ang), torch.sin(ang)


def rms(x, w):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_pairs(x):                           # x [..., T, rope], pairs (2j, 2j+1)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)


def swiglu(x, g, u, d):
    return (torch.nn.functional.silu(x @ g.T) * (x @ u.T)) @ d.T


def block(l, x, loads):
    p = lambda s: P[f"blk.{l}.{s}"]
    xn = rms(x, p("attn_norm.weight"))
    q = (rms(xn @ p("attn_q_a.weight").T, p("attn_q_a_norm.weight")) @ p("attn_q_b.weight").T).view(B, T, H, hk)
    q = torch.cat([q[..., :nope], rope_pairs(q[..., nope:].transpose(1, 2)).transpose(1, 2)], -1)
    kva = xn @ p("attn_kv_a_mqa.weight").T
    c = rms(kva[..., :R], p("attn_kv_a_norm.weight"))
    kpe = rope_pairs(kva[..., R:])                                     # [B][T][rope]
    kv = (c @ p("attn_kv_b.weight").T).view(B, T, H, nope + hv)
    k = torch.cat([kv[..., :nope], kpe[:, :, None, :].expand(B, T, H, rope)], -1)
    v = kv[..., nope:]
    s = torch.einsum("bthd,bphd->bhtp", q, k) / math.sqrt(hk)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    o = torch.einsum("bhtp,bphd->bthd", torch.softmax(s, -1), v).reshape(B, T, H * hv)
    h = x + o @ p("attn_output.weight").T
    hn = rms(h, p("ffn_norm.weight"))
    bal = 0.0
    if l < n_dense:
        f = swiglu(hn, p("ffn_gate.weight"), p("ffn_up.weight"), p("ffn_down.weight"))
    else:
        sc = torch.sigmoid(hn @ p("ffn_gate_inp.weight").T)             # [B][T][E]
        idx = torch.topk(sc.detach() + p("exp_probs_b.bias").detach(), K, dim=-1).indices
        w = sc.gather(-1, idx)
        w = w / w.sum(-1, keepdim=True) * route_scale
        f = swiglu(hn, p("ffn_gate_shexp.weight"), p("ffn_up_shexp.weight"), p("ffn_down_shexp.weight")) \
            if n_shared else torch.zeros_like(hn)
        for e in range(E):
            sel = (idx == e)                                            # [B][T][K]
            if not sel.any():
                continue
            we = (w * sel).sum(-1, keepdim=True)                        # weight of e per token (0 if unchosen)
            f = f + we * swiglu(hn, p("ffn_gate_exps.weight")[e], p("ffn_up_exps.weight")[e], p("ffn_down_exps.weight")[e])
        cnt = torch.zeros(B, E)
        for e in range(E):
            cnt[:, e] = (idx == e).sum((1, 2))
        loads[l] = cnt.sum(0)
        fe = cnt * E / (K * T)                                          # constant
        Pe = (sc / sc.sum(-1, keepdim=True)).mean(1)                    # [B][E]
        bal = (fe * Pe).sum(-1).mean()
    return h + f, bal


def ce(logits, t):
    m = t >= 0
    return torch.nn.functional.cross_entropy(logits[m], t[m])


def loss_fn():
    loads = {}
    x = P["token_embd.weight"][inp]
    bal = 0.0
    for l in range(L):
        x, b = block(l, x, loads)
        bal = bal + b
    hf = rms(x, P["output_norm.weight"])
    W = P["output.weight"]
    main = ce((hf @ W.T).view(-1, V), tgt.reshape(-1))
    total = main
    if mtp:
        p = lambda s: P[f"blk.{L}.{s}"]
        e1 = P["token_embd.weight"][tgt]
        m0 = torch.cat([rms(e1, p("nextn.enorm.weight")), rms(hf, p("nextn.hnorm.weight"))], -1) @ p("nextn.eh_proj.weight").T
        m1, b = block(L, m0, loads)
        bal = bal + b
        lg2 = rms(m1, p("nextn.shared_head_norm.weight")) @ W.T
        total = total + meta["lambda"] * ce(lg2.view(-1, V), tgt2.reshape(-1))
    return total + meta["alpha"] * bal, loads


fails = 0


def report(name, good, msg):
    global fails
    print(("ok " if good else "FAIL ") + f"tests/test_train_torch.c:{name}" + ("" if good else f": {msg}"))
    fails += not good


loss, loads = loss_fn()
loss.backward()
rel = abs(loss.item() - meta["losses"][0]) / abs(loss.item())
report("torch_loss_equal", rel < 1e-5, f"torch {loss.item():.9g} vs C {meta['losses'][0]:.9g} (rel {rel:.2e})")
worst, wname = 0.0, ""
for name, t in P.items():
    if kinds[name] == 2:
        continue
    off, n, shape = offs[name]
    g = torch.tensor(cgrad[off: off + n].astype(np.float64).reshape(shape))
    r = ((g - t.grad).norm() / (t.grad.norm() + 1e-12)).item()
    if r > worst:
        worst, wname = r, name
report("torch_gradients_close", worst < 1e-3, f"worst relative L2 error {worst:.2e} in {wname}")
print(f"# torch loss {loss.item():.9g}, worst gradient error {worst:.2e} ({wname})")

# 10 AdamW steps on the same batch
decay = [t for n, t in P.items() if kinds[n] == 0]
nodecay = [t for n, t in P.items() if kinds[n] == 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": meta["wd"]}, {"params": nodecay, "weight_decay": 0.0}],
                        lr=meta["lr"], betas=(meta["beta1"], meta["beta2"]), eps=meta["adam_eps"])


def lr_at(step):
    if step < meta["warmup"]:
        return meta["lr"] * (step + 1) / meta["warmup"]
    p = min(1.0, (step - meta["warmup"]) / (meta["steps"] - meta["warmup"]))
    return meta["lr_min"] + 0.5 * (meta["lr"] - meta["lr_min"]) * (1 + math.cos(math.pi * p))


for t in P.values():
    t.grad = None
losses = []
for step in range(10):
    opt.zero_grad()
    loss, loads = loss_fn()
    loss.backward()
    losses.append(loss.item())
    norm = math.sqrt(sum((t.grad ** 2).sum().item() for t in decay + nodecay))
    if norm > meta["clip"]:
        for t in decay + nodecay:
            t.grad.mul_(meta["clip"] / norm)
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    opt.step()
    with torch.no_grad():
        for l, ld in loads.items():
            b = P[f"blk.{l}.exp_probs_b.bias"]
            b += meta["gamma"] * torch.sign(ld.sum() / E - ld)
worst = max(abs(a - b) / abs(a) for a, b in zip(losses, meta["losses"]))
report("torch_adamw_10_steps_close", worst < 1e-3,
       f"torch {['%.5f' % x for x in losses]} vs C {['%.5f' % x for x in meta['losses']]}")
print(f"# 10-step losses: torch {losses[0]:.5f} -> {losses[-1]:.5f}, worst relative difference {worst:.2e}")
sys.exit(1 if fails else 0)
