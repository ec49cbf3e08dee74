#!/bin/sh
# make.sh - record what ik_llama.cpp's llama-quantize writes for the small synth models of
# tests/cli/test_quantize.sh: llama-quantize.sha256 has, per run, "RUN tensor type sha256".
# Needs the engine built from source outside the repository (docs/interop.md):
#   IK=/work/ik/build/bin sh tests/data/quantize/make.sh
# Run from the repository root with ./seek built. The inputs are made by seek synth with the
# same arguments as the test, so the test can quantize the identical bytes.
set -e
IK=${IK:-/work/ik/build/bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
./seek synth --shape r1-distill-qwen-1.5b --layers 2 --vocab 512 --ff 512 -o "$T/qwen.gguf" --quiet
./seek synth --shape deepseek-v2-lite --layers 2 --vocab 512 --ff 320 --ff-exp 384 --experts 8 --heads 4 -o "$T/v2.gguf" --quiet
out=tests/data/quantize/llama-quantize.sha256
{
    echo "# ik_llama.cpp llama-quantize (built from source, Release, -march=native)"
    echo "# command: llama-quantize IN.gguf OUT.gguf TYPE 2; then bench/tensor_hashes.py OUT.gguf"
    for run in qwen:Q2_K qwen:Q3_K_M qwen:Q4_K_M qwen:Q5_K_S qwen:Q6_K v2:Q2_K v2:Q4_K_M v2:Q6_K; do
        m=${run%:*} t=${run#*:}
        "$IK/llama-quantize" "$T/$m.gguf" "$T/o.gguf" "$t" 2 >/dev/null 2>&1
        /usr/bin/python3 bench/tensor_hashes.py "$T/o.gguf" | sed "s/^/$m-$t /"
    done
} >"$out"
echo "wrote $out"
