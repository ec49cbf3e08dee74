#!/bin/sh
# seek perplexity follows llama.cpp's protocol (llama-perplexity): checked against a NumPy
# computation of that protocol over seek's own logits (`seek logits` per chunk), on a model
# without BOS (a llama model quantized by a llama.cpp-family tool) and one with BOS (the
# test chat model, DeepSeek-V3 tokenizer).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
CHAT_MODEL=${CHAT_MODEL:-build/tests/chat-model.gguf}

cat >"$TMP/ppl.txt" <<'EOF'
The quick brown fox jumps over the lazy dog. Hello world, this is a small test of perplexity.
A perplexity tool cuts the text into chunks and scores the second half of every chunk, so each
scored token has seen at least half a chunk of context. The numbers then compare between engines.
EOF

check() {   # NAME MODEL CTX [CHUNKS]
    name=$1 model=$2 ctx=$3 chunks=${4:-0}
    cf=; [ "$chunks" -gt 0 ] && cf="--chunks $chunks"
    if ! "$SEEK" perplexity -m "$model" -f "$TMP/ppl.txt" -c "$ctx" $cf >"$TMP/out" 2>"$TMP/err"; then
        fail "$name" "$(cat "$TMP/err")"; return
    fi
    plain=$("$SEEK" tokenize -m "$model" -f "$TMP/ppl.txt" | tr ' ' ',')
    bos=$("$SEEK" tokenize -m "$model" --bos -f "$TMP/ppl.txt" | tr ' ' ',')
    res=$($PY - "$SEEK" "$model" "$plain" "$bos" "$ctx" "$chunks" "$TMP" <<'PY'
import re, subprocess, sys, numpy as np
seek, model, plain, bos, n, chunks, tmp = sys.argv[1:8]
n, chunks = int(n), int(chunks)
plain = [int(x) for x in plain.split(',') if x]
ids = [int(x) for x in bos.split(',') if x]
add_bos = len(ids) == len(plain) + 1           # the model asks for a BOS: it leads the text
n_chunk = len(ids) // n
if chunks: n_chunk = min(n_chunk, chunks)
nll = nll2 = 0.0; count = 0; running = []
for k in range(n_chunk):
    w = ids[k * n:(k + 1) * n]
    if add_bos: w[0] = ids[0]                   # every chunk starts with BOS
    subprocess.run([seek, 'logits', '-m', model, '--tokens', ','.join(map(str, w)), '-o', tmp + '/p.f32'], check=True)
    l = np.fromfile(tmp + '/p.f32', dtype='<f4').reshape(n, -1).astype(np.float64)
    for t in range(n // 2, n - 1):              # the second half predicts its next token
        m = l[t].max()
        v = np.log(np.exp(l[t] - m).sum()) + m - l[t, w[t + 1]]
        nll += v; nll2 += v * v; count += 1
    running.append(np.exp(nll / count))
mean = nll / count
ppl = np.exp(mean)
err = np.sqrt((nll2 / count - mean * mean) / (count - 1)) * ppl
out = open(tmp + '/out').read()
m = re.search(r'^Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)$', out, re.M)
r = [float(x) for x in re.findall(r'\[\d+\]([0-9.]+),', out)]
if not m: print('no final line'); sys.exit()
ok = abs(float(m.group(1)) - ppl) <= 1e-4 * ppl + 1e-4 and abs(float(m.group(2)) - err) <= 1e-3 * err + 1e-5
ok = ok and len(r) == n_chunk and all(abs(a - b) <= 1e-4 * b + 1e-4 for a, b in zip(r, running))
print('ok' if ok else f'seek {m.group(1)} +/- {m.group(2)} {r}, numpy {ppl:.4f} +/- {err:.5f} {running} (bos {add_bos})')
PY
)
    if [ "$res" = ok ]; then ok "$name"; else fail "$name" "$res"; fi
}

check matches_numpy_no_bos tests/data/gguf/model-Q4_K_S.gguf 16
check matches_numpy_chunks tests/data/gguf/model-Q4_K_S.gguf 16 2
check matches_numpy_bos "$CHAT_MODEL" 12

expect_ok final_line "$SEEK" perplexity -m tests/data/gguf/model-Q4_K_S.gguf -f "$TMP/ppl.txt" -c 16
expect_out final_line_format '^Final estimate: PPL = [0-9]+\.[0-9]{4} \+/- [0-9]+\.[0-9]{5}$'
expect_out running_estimates '^\[1\][0-9.]+,\[2\][0-9.]+,'
expect_ok legacy "$SEEK" perplexity -m tests/data/gguf/model-Q4_K_S.gguf -f "$TMP/ppl.txt" -c 16 --legacy

# -c larger than half the text: one error, exit != 0
expect_error ctx_too_big "needs at least [0-9]+ .*smaller -c" "$SEEK" perplexity -m tests/data/gguf/model-Q4_K_S.gguf -f "$TMP/ppl.txt" -c 512
expect_error no_text "nope.txt" "$SEEK" perplexity -m tests/data/gguf/model-Q4_K_S.gguf -f "$TMP/nope.txt"
expect_error not_model "ppl.txt: " "$SEEK" perplexity -m "$TMP/ppl.txt" -f "$TMP/ppl.txt"
