#!/bin/sh
# seek convert / seek logits from the command line, and broken checkpoints: each gives
# one clear "seek: ..." line and a non-zero exit.
. tests/cli/lib.sh
H=tests/data/hf

expect_ok convert_v3 "$SEEK" convert "$H/deepseek-v3-tiny" -o "$TMP/v3.gguf" --type f32
expect_out convert_says_wrote 'wrote .*v3.gguf'
expect_ok logits_v3 "$SEEK" logits -m "$TMP/v3.gguf" --tokens 369,137,41 -o "$TMP/l.f32"
if [ "$(wc -c <"$TMP/l.f32")" -eq $((3 * 512 * 4)) ]; then ok logits_size; else fail logits_size "$(wc -c <"$TMP/l.f32") bytes"; fi
expect_ok logits_one_by_one "$SEEK" logits -m "$TMP/v3.gguf" --tokens 369,137,41 -o "$TMP/l1.f32" --one-by-one -v
# --one-by-one really feeds one token per forward call (the logits are the same either way,
# so this is the only way to see that the option is honoured) ...
if grep -q "^logits: 3 tokens x 512 vocabulary in 3 forward calls" "$TMP/err"; then ok one_by_one_honoured; else fail one_by_one_honoured "$(cat "$TMP/err")"; fi
expect_ok logits_batch_verbose "$SEEK" logits -m "$TMP/v3.gguf" --tokens 369,137,41 -o "$TMP/lb.f32" -v
if grep -q "in 1 forward call " "$TMP/err"; then ok batch_one_call; else fail batch_one_call "$(cat "$TMP/err")"; fi
# ... and its logits equal the batch's within 1e-4 of the largest |logit|
close() {   # NAME A.f32 B.f32: same size, max |a - b| <= 1e-4 * max |a|
    if /usr/bin/python3 -c "
import sys, numpy as np
a, b = np.fromfile(sys.argv[1], '<f4'), np.fromfile(sys.argv[2], '<f4')
sys.exit(0 if a.size == b.size and a.size > 0 and np.isfinite(a).all() and np.abs(a - b).max() <= 1e-4 * np.abs(a).max() else 1)" "$2" "$3"
    then ok "$1"; else fail "$1" "$2 and $3 differ"; fi
}
close one_by_one_equals_batch "$TMP/l.f32" "$TMP/l1.f32"
expect_error logits_bad_token 'token id 512 .*outside the vocabulary' "$SEEK" logits -m "$TMP/v3.gguf" --tokens 1,512 -o "$TMP/x.f32"
expect_error logits_bad_list 'comma-separated' "$SEEK" logits -m "$TMP/v3.gguf" --tokens 1,,x -o "$TMP/x.f32"

# broken checkpoints, each a copy of a fixture with one thing wrong
mk() { rm -rf "$TMP/$1"; mkdir -p "$TMP/$1"; cp "$H/$2/config.json" "$H/$2/model.safetensors" "$TMP/$1/"; }
edit() {  # edit DIR PYTHON-EXPR-ON-c   (c = the config dict)
    /usr/bin/python3 -c "import json,sys; p=sys.argv[1]+'/config.json'; c=json.load(open(p)); $2; json.dump(c,open(p,'w'))" "$1"
}
mk arch qwen2-tiny; edit "$TMP/arch" "c['architectures']=['MistralForCausalLM']"
expect_error unknown_architecture "unsupported architecture 'MistralForCausalLM'" "$SEEK" convert "$TMP/arch" -o "$TMP/o.gguf"
mk nofield llama-tiny; edit "$TMP/nofield" "del c['num_attention_heads']"
expect_error missing_field "config.json: missing field 'num_attention_heads'" "$SEEK" convert "$TMP/nofield" -o "$TMP/o.gguf"
mk heads qwen2-tiny; edit "$TMP/heads" "c['num_key_value_heads']=3"
expect_error inconsistent_heads "num_attention_heads 4 is not a multiple of num_key_value_heads 3" "$SEEK" convert "$TMP/heads" -o "$TMP/o.gguf"
mk shape qwen2-tiny; edit "$TMP/shape" "c['intermediate_size']=100"
expect_error wrong_shape "tensor 'model.layers.0.mlp.gate_proj.weight' has shape \[128, 64\], expected \[100, 64\]" "$SEEK" convert "$TMP/shape" -o "$TMP/o.gguf"
mk layers deepseek-v2-lite-tiny; edit "$TMP/layers" "c['num_hidden_layers']=4"
expect_error missing_tensor "missing tensor 'model.layers.3.input_layernorm.weight'" "$SEEK" convert "$TMP/layers" -o "$TMP/o.gguf"
mk rope deepseek-v3-tiny; edit "$TMP/rope" "del c['rope_parameters']['original_max_position_embeddings']"
expect_error yarn_missing_orig "missing field 'rope_parameters.original_max_position_embeddings'" "$SEEK" convert "$TMP/rope" -o "$TMP/o.gguf"
mk topk deepseek-v3-tiny; edit "$TMP/topk" "c['num_experts_per_tok']=9"
expect_error too_many_experts "num_experts_per_tok 9 exceeds n_routed_experts 8" "$SEEK" convert "$TMP/topk" -o "$TMP/o.gguf"
mk style deepseek-v3-tiny; edit "$TMP/style" "r=c.pop('rope_parameters'); c['rope_theta']=r.pop('rope_theta'); r['type']=r.pop('rope_type'); c['rope_scaling']=r"
expect_ok old_rope_scaling_style "$SEEK" convert "$TMP/style" -o "$TMP/style.gguf" --type f32
"$SEEK" logits -m "$TMP/style.gguf" --tokens 369,137,41 -o "$TMP/l2.f32" >/dev/null 2>&1
if cmp -s "$TMP/l.f32" "$TMP/l2.f32"; then ok old_style_same_logits; else fail old_style_same_logits "rope_scaling{type} gives other logits than rope_parameters{rope_type}"; fi
mkdir -p "$TMP/empty"
expect_error no_config "config.json: no such file" "$SEEK" convert "$TMP/empty" -o "$TMP/o.gguf"
mk tok deepseek-v3-tiny; cp tests/data/tokenizer/deepseek-v3/tokenizer.json tests/data/tokenizer/deepseek-v3/tokenizer_config.json "$TMP/tok/"
expect_error tokenizer_bigger_than_vocab "tokenizer has [0-9]+ tokens but the model's vocabulary is 512" "$SEEK" convert "$TMP/tok" -o "$TMP/o.gguf"
expect_error bad_type "unknown --type 'q4_k'" "$SEEK" convert "$H/qwen2-tiny" -o "$TMP/o.gguf" --type q4_k

# broken GGUF models
expect_error model_missing_file 'nope.gguf: No such file' "$SEEK" logits -m "$TMP/nope.gguf" --tokens 1 -o "$TMP/x.f32"
expect_error model_missing_tensor "ggml-vocab-deepseek-coder.gguf: missing tensor 'token_embd.weight'" "$SEEK" logits -m tests/data/gguf/ggml-vocab-deepseek-coder.gguf --tokens 1 -o "$TMP/x.f32"
# a llama-arch model quantized to Q4_K by a llama.cpp-family tool runs
expect_ok q4_k_model "$SEEK" logits -m tests/data/gguf/model-Q4_K_S.gguf --tokens 1,2,3 -o "$TMP/q4.f32"
# its logits: 3 x 300 (its vocabulary) finite values, the same when fed token by token (the cache path
# over Q4_K weights), and not all alike (a model that dequantized to zeros would pass the rest)
expect_ok q4_k_one_by_one "$SEEK" logits -m tests/data/gguf/model-Q4_K_S.gguf --tokens 1,2,3 -o "$TMP/q4o.f32" --one-by-one
close q4_k_one_by_one_equals_batch "$TMP/q4.f32" "$TMP/q4o.f32"
if /usr/bin/python3 -c "
import sys, numpy as np
a = np.fromfile(sys.argv[1], '<f4')
sys.exit(0 if a.size == 3 * 300 and a.std() > 0.1 and np.isfinite(a).all() else 1)" "$TMP/q4.f32"
then ok q4_k_logits_sane; else fail q4_k_logits_sane "$(wc -c <"$TMP/q4.f32") bytes"; fi

# perplexity: see tests/cli/test_perplexity.sh (llama.cpp's protocol, checked against NumPy)

# --type q8_0: not just the exit code. An independent NumPy reading of both files (the GGUF
# reader of tests/data/quants/extract.py): the same tensors as the f32 conversion, 1-D
# tensors and the router kept F32, rows that are not whole blocks F16, and every Q8_0 block
# holds its f32 values to within half a quantization step, with the step max|x| / 127.
expect_ok convert_q8_0 "$SEEK" convert "$H/deepseek-v3-tiny" -o "$TMP/v3q8.gguf" --type q8_0
if /usr/bin/python3 - "$TMP/v3.gguf" "$TMP/v3q8.gguf" >"$TMP/q8.log" 2>&1 <<'PY'
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("extract", "tests/data/quants/extract.py")
ex = importlib.util.module_from_spec(spec); spec.loader.exec_module(ex)
f32, q8 = ex.read_gguf(sys.argv[1]), ex.read_gguf(sys.argv[2])
assert set(f32) == set(q8), set(f32) ^ set(q8)
n_q8 = 0
for name, (t, ne, raw) in q8.items():
    ref = np.frombuffer(f32[name][2], dtype="<f4")
    if len(ne) == 1 or name.endswith("ffn_gate_inp.weight"):
        assert t == 0 and np.array_equal(np.frombuffer(raw, dtype="<f4"), ref), name
        continue
    if ne[0] % 32:   # rows that are not whole Q8_0 blocks fall back to F16
        assert t == 1 and np.array_equal(np.frombuffer(raw, dtype="<f2"), ref.astype("<f2")), name
        continue
    assert t == 8, (name, t)
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 34)
    d = blocks[:, :2].copy().view("<f2").astype(np.float64)[:, 0]
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float64)
    x = ref.astype(np.float64).reshape(-1, 32)
    step = np.abs(x).max(axis=1) / 127
    assert np.allclose(d, step, rtol=2e-3, atol=0), name           # f16-rounded scale
    err = np.abs(q * d[:, None] - x)
    assert (err <= d[:, None] * 0.5 + 1e-3 * np.abs(x) + 1e-12).all(), (name, err.max())
    n_q8 += 1
assert n_q8 >= 10, n_q8
print("ok", n_q8)
PY
then ok q8_0_blocks_hold_the_weights; else fail q8_0_blocks_hold_the_weights "$(tail -n 3 "$TMP/q8.log")"; fi
