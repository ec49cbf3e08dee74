#!/bin/sh
# seek synth: every shape has the tensors and shapes the public config.json implies (named
# as the GGUF converter names them); a real-size file holds them, with a tokenizer and chat
# template, and `seek info` agrees; bad input.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# Expected tensors from the checkpoints' config.json values (Hugging Face, deepseek-ai/*),
# computed here independently of src/synth.c's table.
cat >"$TMP/expect.py" <<'PY'
import sys
cfg = {
 'r1-distill-qwen-1.5b': dict(arch='qwen2', hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
     num_attention_heads=12, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=False),
 'r1-distill-qwen-7b': dict(arch='qwen2', hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
     num_attention_heads=28, num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
 'r1-distill-llama-8b': dict(arch='llama', hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
     num_attention_heads=32, num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=False, llama3=True),
 'deepseek-v2-lite': dict(arch='deepseek2', hidden_size=2048, intermediate_size=10944, moe_intermediate_size=1408,
     num_hidden_layers=27, num_attention_heads=16, n_routed_experts=64, n_shared_experts=2, first_k_dense_replace=1,
     q_lora_rank=None, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
     vocab_size=102400, bias=False),
 'deepseek-v3': dict(arch='deepseek2', hidden_size=7168, intermediate_size=18432, moe_intermediate_size=2048,
     num_hidden_layers=61, num_attention_heads=128, n_routed_experts=256, n_shared_experts=1, first_k_dense_replace=3,
     q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
     vocab_size=129280, bias=True),
}
cfg['deepseek-r1'] = cfg['deepseek-v3']
name, layers = sys.argv[1], int(sys.argv[2])
c = cfg[name]
D, V, L = c['hidden_size'], c['vocab_size'], layers or c['num_hidden_layers']
out = [('token_embd.weight', D, V)]
if c.get('llama3'): out.append(('rope_freqs.weight', D // c['num_attention_heads'] // 2))
for i in range(L):
    b = f'blk.{i}.'
    out.append((b + 'attn_norm.weight', D))
    if c['arch'] != 'deepseek2':
        H, KV, F = c['num_attention_heads'], c['num_key_value_heads'], c['intermediate_size']
        hd = D // H
        bias = c['arch'] == 'qwen2'
        out += [(b + 'attn_q.weight', D, D)] + ([(b + 'attn_q.bias', D)] if bias else [])
        out += [(b + 'attn_k.weight', D, KV * hd)] + ([(b + 'attn_k.bias', KV * hd)] if bias else [])
        out += [(b + 'attn_v.weight', D, KV * hd)] + ([(b + 'attn_v.bias', KV * hd)] if bias else [])
        out += [(b + 'attn_output.weight', D, D), (b + 'ffn_norm.weight', D), (b + 'ffn_gate.weight', D, F),
                (b + 'ffn_up.weight', D, F), (b + 'ffn_down.weight', F, D)]
        continue
    H, R, nope, rope, vh = c['num_attention_heads'], c['kv_lora_rank'], c['qk_nope_head_dim'], c['qk_rope_head_dim'], c['v_head_dim']
    q = c['q_lora_rank']
    if q: out += [(b + 'attn_q_a.weight', D, q), (b + 'attn_q_a_norm.weight', q), (b + 'attn_q_b.weight', q, H * (nope + rope))]
    else: out += [(b + 'attn_q.weight', D, H * (nope + rope))]
    out += [(b + 'attn_kv_a_mqa.weight', D, R + rope), (b + 'attn_kv_a_norm.weight', R),
            (b + 'attn_kv_b.weight', R, H * (nope + vh)), (b + 'attn_output.weight', H * vh, D), (b + 'ffn_norm.weight', D)]
    dense = c['first_k_dense_replace']
    if layers and layers > 1: dense = min(dense, layers - 1)   # --layers keeps one MoE block
    if i < dense:
        F = c['intermediate_size']
        out += [(b + 'ffn_gate.weight', D, F), (b + 'ffn_up.weight', D, F), (b + 'ffn_down.weight', F, D)]
        continue
    E, F, S = c['n_routed_experts'], c['moe_intermediate_size'], c['moe_intermediate_size'] * c['n_shared_experts']
    out += [(b + 'ffn_gate_inp.weight', D, E)] + ([(b + 'exp_probs_b.bias', E)] if c['bias'] else [])
    out += [(b + 'ffn_gate_exps.weight', D, F, E), (b + 'ffn_up_exps.weight', D, F, E), (b + 'ffn_down_exps.weight', F, D, E),
            (b + 'ffn_gate_shexp.weight', D, S), (b + 'ffn_up_shexp.weight', D, S), (b + 'ffn_down_shexp.weight', S, D)]
out += [('output_norm.weight', D)] + ([] if c.get('tie_word_embeddings') else [('output.weight', D, V)])
for t in out: print(' '.join(map(str, t)))
PY
for shape in r1-distill-qwen-1.5b r1-distill-qwen-7b r1-distill-llama-8b deepseek-v2-lite deepseek-v3 deepseek-r1; do
    for layers in 0 2; do
        lf=; [ $layers -gt 0 ] && lf="--layers $layers"
        $PY "$TMP/expect.py" $shape $layers >"$TMP/want"
        if ! "$SEEK" synth --shape $shape $lf --list >"$TMP/got" 2>"$TMP/err"; then fail "shapes_${shape}_$layers" "$(cat "$TMP/err")"
        elif cmp -s "$TMP/want" "$TMP/got"; then ok "shapes_${shape}_$layers"
        else fail "shapes_${shape}_$layers" "$(diff "$TMP/want" "$TMP/got" | head -4 | tr '\n' ' ')"; fi
    done
done

# a real-size file (one block of R1-Distill-Qwen-1.5B, the full 151936-token vocabulary)
if "$SEEK" synth --shape r1-distill-qwen-1.5b --layers 1 --type Q8_0 -o "$TMP/q.gguf" 2>"$TMP/err"; then
    ok write_real_size
    grep -q 'synth: \[ *15/ *15\]' "$TMP/err" && ok progress || fail progress "no per-tensor progress on stderr"
    "$SEEK" info "$TMP/q.gguf" >"$TMP/info"
    $PY "$TMP/expect.py" r1-distill-qwen-1.5b 1 >"$TMP/want"
    # info lists "name type [ne0, ne1] size"; compare names and shapes
    sed -n 's/^  \([a-z_.0-9]*\) *[A-Z0-9_]* *\[\([0-9, ]*\)\].*/\1 \2/p' "$TMP/info" | tr -d ',' >"$TMP/got"
    if cmp -s "$TMP/want" "$TMP/got"; then ok info_agrees; else fail info_agrees "$(diff "$TMP/want" "$TMP/got" | head -4 | tr '\n' ' ')"; fi
    grep -q 'qwen2.embedding_length  *u32  *1536' "$TMP/info" && grep -q 'qwen2.attention.head_count_kv  *u32  *2' "$TMP/info" &&
        grep -q 'qwen2.block_count  *u32  *1' "$TMP/info" && ok info_metadata || fail info_metadata "hparams not as in config.json"
    grep -q '^tokenizer: *gpt2 (byte-level BPE), pre-tokenizer qwen2, 151936 tokens' "$TMP/info" && ok tokenizer_embedded || fail tokenizer_embedded "$(grep tokenizer: "$TMP/info")"
    grep -q '^chat template: present' "$TMP/info" && ok chat_template || fail chat_template "none"
    grep -q 'file type: *Q8_0' "$TMP/info" && ok file_type || fail file_type "$(grep 'file type' "$TMP/info")"
    # the model runs: a prompt through the tokenizer and the forward pass
    expect_ok runs "$SEEK" run -m "$TMP/q.gguf" -p "Hello" -n 2 --temp 0
else
    fail write_real_size "$(cat "$TMP/err")"
fi
rm -f "$TMP/q.gguf"

# token strings are unique (engines refuse duplicates; the trimmed V2 vocabulary already holds
# "[PADn]" names, which the padding must not repeat)
if "$SEEK" synth --shape deepseek-v2-lite --layers 1 --ff 64 --type Q4_0 --fast -o "$TMP/v2tok.gguf" --quiet 2>"$TMP/err"; then
    r=$($PY -c "
import sys; sys.path.insert(0, 'bench')
from compare_quantize import read
kv, _ = read('$TMP/v2tok.gguf'); t = kv['tokenizer.ggml.tokens']
print('ok' if len(t) == 102400 and len(set(t)) == len(t) else '%d tokens, %d distinct' % (len(t), len(set(t))))")
    [ "$r" = ok ] && ok unique_tokens || fail unique_tokens "$r"
else fail unique_tokens "$(cat "$TMP/err")"; fi
rm -f "$TMP/v2tok.gguf"

# deterministic: the same seed gives the same bytes, another seed other bytes
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 256 --ff 64 --ff-exp 32 --experts 8 --heads 2 -o "$TMP/a.gguf" --quiet
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 256 --ff 64 --ff-exp 32 --experts 8 --heads 2 -o "$TMP/b.gguf" --quiet --threads 1
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 256 --ff 64 --ff-exp 32 --experts 8 --heads 2 -o "$TMP/c.gguf" --quiet --seed 2
cmp -s "$TMP/a.gguf" "$TMP/b.gguf" && ok deterministic || fail deterministic "thread count changed the file"
cmp -s "$TMP/a.gguf" "$TMP/c.gguf" && fail seeded "--seed changed nothing" || ok seeded

# bad input: one error line, nothing written
expect_error bad_shape "unknown shape 'gpt-5'" "$SEEK" synth --shape gpt-5 -o "$TMP/o.gguf"
expect_error bad_layers "--layers must be 1 to 27" "$SEEK" synth --shape deepseek-v2-lite --layers 99 -o "$TMP/o.gguf"
expect_error bad_type "unknown type 'Q9'" "$SEEK" synth --shape deepseek-v3 --type Q9 -o "$TMP/o.gguf"
expect_error bad_out "cannot create" "$SEEK" synth --shape deepseek-v2-lite --layers 1 --vocab 64 --ff 64 -o "$TMP/no/dir/o.gguf"
expect_error bad_tokenizer "nope.json" "$SEEK" synth --shape deepseek-v2-lite --layers 1 --tokenizer "$TMP/nope.json" -o "$TMP/o.gguf"
expect_error no_out "need -o" "$SEEK" synth --shape deepseek-v3
# numbers are strict (tools/cli_args.c), as in every command
expect_error bad_layers_text "^seek: synth: --layers: '2x' is not an integer$" "$SEEK" synth --shape deepseek-v2-lite --layers 2x -o "$TMP/o.gguf"
expect_error bad_vocab_zero "^seek: synth: --vocab: 0 is out of range \(1\.\.16777216\)$" "$SEEK" synth --shape deepseek-v2-lite --vocab 0 -o "$TMP/o.gguf"
expect_error bad_seed "^seek: synth: --seed: 'x1' is not an integer" "$SEEK" synth --shape deepseek-v2-lite --seed x1 -o "$TMP/o.gguf"
expect_error ff_no_value "^seek: synth: option --ff needs a value" "$SEEK" synth --shape deepseek-v2-lite -o "$TMP/o.gguf" --ff
if ls "$TMP" | grep -q '^o.gguf'; then fail nothing_left "$(ls "$TMP" | grep o.gguf)"; else ok nothing_left; fi

# an interrupted run leaves neither OUT nor its temporary file
expect_interrupted interrupted "$TMP/int.gguf" \
    "$SEEK" synth --shape r1-distill-qwen-1.5b --layers 4 --vocab 512 --threads 1 -o "$TMP/int.gguf" --quiet

# --fast: the same tensors, types and sizes (rows drawn from a pool), other bytes
"$SEEK" synth --shape r1-distill-qwen-1.5b --layers 1 --vocab 1024 --ff 512 --type Q4_K_M -o "$TMP/slow.gguf" --quiet
"$SEEK" synth --shape r1-distill-qwen-1.5b --layers 1 --vocab 1024 --ff 512 --type Q4_K_M -o "$TMP/fast.gguf" --quiet --fast
"$SEEK" info "$TMP/slow.gguf" | grep -v '^file:' >"$TMP/i1"; "$SEEK" info "$TMP/fast.gguf" | grep -v '^file:' >"$TMP/i2"
if cmp -s "$TMP/i1" "$TMP/i2" && ! cmp -s "$TMP/slow.gguf" "$TMP/fast.gguf"; then ok fast_same_layout
else fail fast_same_layout "$(diff "$TMP/i1" "$TMP/i2" | head -3 | tr '\n' ' ')"; fi
expect_ok fast_runs "$SEEK" logits -m "$TMP/fast.gguf" --tokens 1,2,3 -o "$TMP/f.f32"

# --split-kv-b: attn_k_b [nope, R, H] + attn_v_b [R, hv, H] in place of attn_kv_b; with
# --type Q4_K_M the attn_k rule makes attn_k_b Q8_0 and attn_v_b keeps the base Q4_K; the file
# runs. Only deepseek2 shapes have it.
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 512 --ff 64 --ff-exp 32 --experts 8 --heads 2 \
    --split-kv-b --type Q4_K_M -o "$TMP/split.gguf" --quiet
"$SEEK" info "$TMP/split.gguf" | grep -E '^  blk\.1\.attn_(k|v|kv)_b' | awk '{print $1, $2, $3, $4, $5}' >"$TMP/sp"
printf '%s\n' 'blk.1.attn_k_b.weight Q8_0 [128, 512, 2]' 'blk.1.attn_v_b.weight Q4_K [512, 128, 2]' >"$TMP/sp_want"
if cmp -s "$TMP/sp" "$TMP/sp_want"; then ok split_kv_b_tensors; else fail split_kv_b_tensors "$(tr '\n' ' ' <"$TMP/sp")"; fi
expect_ok split_kv_b_runs "$SEEK" logits -m "$TMP/split.gguf" --tokens 1,2,3 -o "$TMP/s.f32"
expect_error split_kv_b_dense "has no MLA" "$SEEK" synth --shape r1-distill-qwen-1.5b --split-kv-b -o "$TMP/o.gguf"
