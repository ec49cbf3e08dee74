#!/bin/sh
# seek quantize: the per-tensor types of every mixture, quantized models that run, an
# interrupted run that leaves nothing, bad input.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# Small synth models whose row lengths divide like the real ones' (so the same K-quant
# fallbacks happen): R1-Distill-Qwen-1.5B (1536 wide, GQA 12/2) and DeepSeek-V2-Lite (MLA
# without q-LoRA, a dense first block whose ffn_down rows (10944 real, 320 here) are no
# multiple of 256, experts whose rows (1408 real, 384 here) are no multiple of 256 and
# shared experts whose rows (2816 real, 768 here) are).
"$SEEK" synth --shape r1-distill-qwen-1.5b --layers 2 --vocab 512 --ff 512 -o "$TMP/qwen.gguf" --quiet || fail setup "synth qwen"
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 512 --ff 320 --ff-exp 384 --experts 8 --heads 4 \
    -o "$TMP/v2.gguf" --quiet || fail setup "synth v2-lite"

# The expected types, written down from llama.cpp's llama-quantize rules
# (ik_llama.cpp src/llama-quantize.cpp, llama_tensor_get_type + change_type_if_necessary),
# for these two 2-block models. Per mixture: the base type, then the tensors that differ.
# qwen2: n_layer 2, GQA 6, dense. use_more_bits(i, 2) is false for block 0, true for 1.
#   Q2_K   attn_v -> Q4_K (GQA >= 4), ffn_down -> Q3_K, attn_output -> Q3_K (dense)
#   Q3_K_M attn_v -> Q5_K (first two attn_v), ffn_down -> Q4_K (i >= n/16), attn_output -> Q4_K
#   Q4_K_S attn_v -> Q5_K (first four attn_v)
#   Q4_K_M attn_v: block 0 Q4_K bumped to Q5_K (GQA >= 4), block 1 Q6_K (more bits);
#          ffn_down: block 1 Q6_K
#   Q5_K_S nothing (the Q5_K_S attn_v rule is for 8B/70B with a 128k vocab only)
#   Q5_K_M attn_v Q6_K (block 0 by the GQA bump, block 1 by more bits); ffn_down block 1 Q6_K
#   output.weight -> Q6_K in every mixture (Q8_0 keeps Q8_0)
cat >"$TMP/expect" <<'EOF'
qwen Q2_K Q2_K output=Q6_K blk.0.attn_v=Q4_K blk.1.attn_v=Q4_K blk.0.ffn_down=Q3_K blk.1.ffn_down=Q3_K blk.0.attn_output=Q3_K blk.1.attn_output=Q3_K
qwen Q3_K_M Q3_K output=Q6_K blk.0.attn_v=Q5_K blk.1.attn_v=Q5_K blk.0.ffn_down=Q4_K blk.1.ffn_down=Q4_K blk.0.attn_output=Q4_K blk.1.attn_output=Q4_K
qwen Q4_K_S Q4_K output=Q6_K blk.0.attn_v=Q5_K blk.1.attn_v=Q5_K
qwen Q4_K_M Q4_K output=Q6_K blk.0.attn_v=Q5_K blk.1.attn_v=Q6_K blk.1.ffn_down=Q6_K
qwen Q5_K_S Q5_K output=Q6_K
qwen Q5_K_M Q5_K output=Q6_K blk.0.attn_v=Q6_K blk.1.attn_v=Q6_K blk.1.ffn_down=Q6_K
qwen Q6_K Q6_K
qwen Q8_0 Q8_0
qwen Q4_0 Q4_0 output=Q6_K
v2 Q2_K Q2_K output=Q6_K KV=Q8_0 blk.0.attn_output=Q5_K blk.1.attn_output=Q5_K blk.0.ffn_down=IQ4_NL blk.1.ffn_down_exps=IQ4_NL blk.1.ffn_down_shexp=Q3_K
v2 Q3_K_M Q3_K output=Q6_K KV=Q8_0 blk.0.attn_output=Q5_K blk.1.attn_output=Q5_K blk.0.ffn_down=Q5_0 blk.1.ffn_down_exps=Q5_0 blk.1.ffn_down_shexp=Q4_K
v2 Q4_K_S Q4_K output=Q6_K KV=Q8_0 blk.0.attn_output=Q5_K blk.1.attn_output=Q5_K blk.0.ffn_down=Q5_0 blk.1.ffn_down_exps=Q5_0
v2 Q4_K_M Q4_K output=Q6_K KV=Q8_0 blk.0.attn_output=Q5_K blk.1.attn_output=Q5_K blk.0.ffn_down=Q5_0 blk.1.ffn_down_exps=Q8_0 blk.1.ffn_down_shexp=Q6_K
v2 Q5_K_S Q5_K output=Q6_K KV=Q8_0 blk.0.ffn_down=Q5_1 blk.1.ffn_down_exps=Q5_1
v2 Q5_K_M Q5_K output=Q6_K KV=Q8_0 blk.0.ffn_down=Q5_1 blk.1.ffn_down_exps=Q8_0 blk.1.ffn_down_shexp=Q6_K
v2 Q6_K Q6_K KV=Q8_0 blk.0.ffn_down=Q8_0 blk.1.ffn_down_exps=Q8_0
v2 Q4_0 Q4_0 output=Q6_K KV=Q8_0
EOF
# deepseek2 (n_expert >= 4): every attn_k* (attn_kv_a_mqa, attn_kv_b) -> Q8_0 (KV above);
# attn_output -> Q5_K for Q2_K/Q3_K_M/Q4_K_S/Q4_K_M; ffn_down* layer from the name.
# Rows that don't fit 256 (change_type_if_necessary): Q2_K/Q3_K -> IQ4_NL, Q4_K -> Q5_0,
# Q6_K -> Q8_0 (as both llama.cpp and ik_llama.cpp); Q5_K -> Q5_1 as mainline llama.cpp, where
# ik_llama.cpp writes its own Q6_0 (docs/quantize.md). The v2 Q2_K line was checked against
# ik's llama-quantize output on this same file (bench/compare_quantize.sh: every tensor's type
# and bytes equal).
while read -r model mix base rest; do
    "$SEEK" quantize "$TMP/$model.gguf" "$TMP/x.gguf" "$mix" --dry-run >"$TMP/plan" 2>"$TMP/err" || { fail "types_${model}_$mix" "$(cat "$TMP/err")"; continue; }
    res=$($PY - "$model" "$base" "$TMP/plan" $rest <<'PY'
import sys
model, base, plan, exc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
exc = dict(e.split('=') for e in exc)
L = 2
if model == 'qwen':
    quant = ['token_embd', 'output'] + [f'blk.{i}.{t}' for i in range(L) for t in
             ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']]
else:
    quant = ['token_embd', 'output'] + [f'blk.{i}.{t}' for i in range(L) for t in ['attn_q', 'attn_kv_a_mqa', 'attn_kv_b', 'attn_output']]
    quant += ['blk.0.ffn_gate', 'blk.0.ffn_up', 'blk.0.ffn_down'] + ['blk.1.' + t for t in
              ['ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps', 'ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp']]
    if 'KV' in exc:
        for i in range(L):
            exc[f'blk.{i}.attn_kv_a_mqa'] = exc[f'blk.{i}.attn_kv_b'] = exc['KV']
        del exc['KV']
seen, bad = set(), []
for line in open(plan):
    name, old, new = line.split()
    stem = name[:-len('.weight')] if name.endswith('.weight') else name
    want = (exc.get(stem, base) if stem in quant else old)
    if stem in quant: seen.add(stem)
    if new != want: bad.append(f'{name}: {new}, expected {want}')
bad += [f'{t}: missing' for t in quant if t not in seen]
bad += [f'{t}: rule for a tensor that is not there' for t in exc if t not in quant]
print('; '.join(bad[:4]) if bad else 'ok')
PY
)
    if [ "$res" = ok ]; then ok "types_${model}_$mix"; else fail "types_${model}_$mix" "$res"; fi
done <"$TMP/expect"

# byte identity with llama-quantize: what ik_llama.cpp's llama-quantize wrote for these same
# two input files (tests/data/quantize/llama-quantize.sha256, recorded by make.sh there)
REF=tests/data/quantize/llama-quantize.sha256
for run in $(grep -v '^#' "$REF" | cut -d' ' -f1 | uniq); do
    model=${run%%-*} mix=${run#*-}
    if ! "$SEEK" quantize "$TMP/$model.gguf" "$TMP/ref.gguf" "$mix" --quiet 2>"$TMP/err"; then fail "same_bytes_as_llama_quantize_$run" "$(cat "$TMP/err")"; continue; fi
    /usr/bin/python3 bench/tensor_hashes.py "$TMP/ref.gguf" | sed "s/^/$run /" >"$TMP/got"
    grep "^$run " "$REF" >"$TMP/want"
    if cmp -s "$TMP/want" "$TMP/got"; then ok "same_bytes_as_llama_quantize_$run"
    else fail "same_bytes_as_llama_quantize_$run" "$(diff "$TMP/want" "$TMP/got" | grep '^>' | head -3 | tr '\n' ' ')"; fi
done
rm -f "$TMP/ref.gguf"

# --pure: every quantized tensor the base type, except where rows don't fit
"$SEEK" quantize "$TMP/v2.gguf" "$TMP/x.gguf" Q4_K_M --pure --dry-run >"$TMP/out" 2>"$TMP/err"
if awk '$2 != $3' "$TMP/out" | grep -v ' Q4_K$' | grep -qv -e 'blk.0.ffn_down.weight F16 Q5_0' -e 'ffn_down_exps.weight F16 Q5_0'; then
    fail pure "$(awk '$2 != $3' "$TMP/out" | grep -v ' Q4_K$' | head -3)"
else ok pure; fi
expect_out pure_fallback 'blk.1.ffn_down_exps.weight F16 Q5_0'

# a quantized model runs, its logits close to the F16 model's (bounds on the relative RMS error
# about twice what these types gave here: 0.007, 0.08, 0.024)
"$SEEK" logits -m "$TMP/qwen.gguf" --tokens 1,7,42,300,5,11 -o "$TMP/f16.f32" 2>"$TMP/err" || fail logits_f16 "$(cat "$TMP/err")"
for mt in Q8_0:0.02 Q4_K_M:0.16 Q6_K:0.05; do
    mix=${mt%:*}; tol=${mt#*:}
    if ! "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/q.gguf" "$mix" --quiet 2>"$TMP/err"; then fail "runs_$mix" "$(cat "$TMP/err")"; continue; fi
    if ! "$SEEK" logits -m "$TMP/q.gguf" --tokens 1,7,42,300,5,11 -o "$TMP/q.f32" 2>"$TMP/err"; then fail "runs_$mix" "$(cat "$TMP/err")"; continue; fi
    r=$($PY -c "
import numpy as np, sys
a = np.fromfile('$TMP/f16.f32', '<f4'); b = np.fromfile('$TMP/q.f32', '<f4')
e = np.sqrt(((a - b) ** 2).mean() / (a ** 2).mean())
print('ok' if np.isfinite(b).all() and e < $tol else 'relative error %.4f' % e)")
    if [ "$r" = ok ]; then ok "runs_$mix"; else fail "runs_$mix" "$r"; fi
done
# seek info shows the mixture: types x count x bytes and bits per weight
expect_ok info_mixture "$SEEK" info "$TMP/q.gguf" --brief
expect_out info_mixture_types 'tensor types: +F32 x[0-9]+ \(.*Q6_K x[0-9]+'
expect_out info_mixture_bpw 'bits per weight'
expect_out info_mixture_name 'file type: +Q6_K'
# V2-Lite Q2_K: the IQ4_NL experts (rows of 384, no multiple of 256) run through the IQ4_NL
# kernels in a real forward pass, logits near the F16 model's (TOL_V2 is about twice the
# relative error measured here, 0.31), and seek info names the type
TOL_V2=0.6
"$SEEK" logits -m "$TMP/v2.gguf" --tokens 1,7,42,300,5,11 -o "$TMP/v2f16.f32" 2>"$TMP/err" || fail logits_v2_f16 "$(cat "$TMP/err")"
if ! "$SEEK" quantize "$TMP/v2.gguf" "$TMP/v2q.gguf" Q2_K --quiet 2>"$TMP/err"; then fail runs_v2_Q2_K "$(cat "$TMP/err")"
elif ! "$SEEK" logits -m "$TMP/v2q.gguf" --tokens 1,7,42,300,5,11 -o "$TMP/q.f32" 2>"$TMP/err"; then fail runs_v2_Q2_K "$(cat "$TMP/err")"
else
    r=$($PY -c "
import numpy as np
a = np.fromfile('$TMP/v2f16.f32', '<f4'); b = np.fromfile('$TMP/q.f32', '<f4')
e = np.sqrt(((a - b) ** 2).mean() / (a ** 2).mean())
print('ok' if np.isfinite(b).all() and e < $TOL_V2 else 'relative error %.4f' % e)")
    if [ "$r" = ok ]; then ok runs_v2_Q2_K; else fail runs_v2_Q2_K "$r"; fi
fi
expect_ok info_iq4nl "$SEEK" info "$TMP/v2q.gguf" --brief
expect_out info_iq4nl_types 'IQ4_NL x2'
rm -f "$TMP/v2q.gguf"

# an interrupted run leaves neither OUT nor its temporary file
"$SEEK" synth --shape r1-distill-qwen-1.5b --layers 4 --vocab 512 -o "$TMP/big.gguf" --quiet
expect_interrupted interrupted "$TMP/int.gguf" "$SEEK" quantize "$TMP/big.gguf" "$TMP/int.gguf" Q4_K_M --threads 1

# bad input: one error line, nothing written
expect_error bad_type "unknown type 'Q4_K_X'" "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/o.gguf" Q4_K_X
expect_error bad_out "cannot create" "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/no/such/dir/o.gguf" Q8_0
printf 'not a model\n' >"$TMP/text.gguf"
expect_error not_gguf "text.gguf: " "$SEEK" quantize "$TMP/text.gguf" "$TMP/o.gguf" Q8_0
expect_error not_model "not a model" "$SEEK" quantize tests/data/tokenizer/ggml-vocab-gpt-2.gguf "$TMP/o.gguf" Q8_0
expect_error same_file "must differ" "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/qwen.gguf" Q8_0
expect_error missing_args "need IN.gguf OUT.gguf TYPE" "$SEEK" quantize "$TMP/qwen.gguf"
# numbers are strict (tools/cli_args.c), as in every command
expect_error bad_threads "^seek: quantize: --threads: '2x' is not an integer$" "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/o.gguf" Q8_0 --threads 2x
expect_error zero_threads "^seek: quantize: -t: 0 is out of range \(1\.\.256\)$" "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/o.gguf" Q8_0 -t 0
expect_error threads_no_value "^seek: quantize: option --threads needs a value" "$SEEK" quantize "$TMP/qwen.gguf" "$TMP/o.gguf" Q8_0 --threads
if ls "$TMP" | grep -q '^o.gguf'; then fail nothing_left "$(ls "$TMP" | grep o.gguf)"; else ok nothing_left; fi
