#!/bin/sh
# seek against DeepSeek's own reference implementation (inference/model.py of
# deepseek-ai/DeepSeek-V3), on the cases the Hugging Face fixtures leave out:
# V2 group-limited routing, mscale != mscale_all_dim, and a checkpoint with an MTP layer.
# The golden logits come from tests/data/dsref/make.py (see tests/data/dsref/README.md).
# Each case: convert the checkpoint (F32), compute the logits of the 80 golden tokens in one
# batch, compare at every position: max |diff| <= 1e-4 x max |logit|, every argmax equal.
. tests/cli/lib.sh
D=tests/data/dsref
for c in v2-group mscale mtp; do
    toks=$(/usr/bin/python3 -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['cases'][0]['tokens'])))" "$D/$c/golden.json")
    if ! "$SEEK" convert "$D/$c" -o "$TMP/$c.gguf" --type f32 >"$TMP/out" 2>"$TMP/err"; then
        fail "$c" "convert failed: $(head -c 300 "$TMP/err")"; continue
    fi
    if ! "$SEEK" logits -m "$TMP/$c.gguf" --tokens "$toks" -o "$TMP/$c.f32" >"$TMP/out" 2>"$TMP/err"; then
        fail "$c" "logits failed: $(head -c 300 "$TMP/err")"; continue
    fi
    msg=$(/usr/bin/python3 - "$TMP/$c.f32" "$D/$c/case0.logits.f32" "$D/$c/golden.json" <<'PY'
import json, sys
import numpy as np
shape = json.load(open(sys.argv[3]))["cases"][0]["logits_shape"]
a = np.fromfile(sys.argv[1], "<f4")
b = np.fromfile(sys.argv[2], "<f4").reshape(shape)
if a.size != b.size:
    print(f"seek wrote {a.size} logits, expected {b.size}"); sys.exit(1)
a = a.reshape(shape)
rel = np.abs(a - b).max() / np.abs(b).max()
bad = int((a.argmax(1) != b.argmax(1)).sum())
if rel > 1e-4 or bad:
    print(f"max diff {rel:.2e} of the logits' scale, {bad} argmax differ"); sys.exit(1)
PY
    ) && ok "$c" || fail "$c" "$msg"
done
