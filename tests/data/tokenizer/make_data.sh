#!/bin/sh
# make_data.sh - rebuild tests/data/tokenizer/ from the full fixtures (../shared/fixtures).
# Run from the repository root after `make`. See tests/tokdata/trim_tokenizer.c for why
# the trimmed vocabularies tokenize the test texts exactly like the full ones.
set -e
FIX=${1:-../shared/fixtures}
D=tests/data/tokenizer
B=${BUILD:-build}
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o "$B/trim_tokenizer" tests/tokdata/trim_tokenizer.c "$B/libseek.a" \
   $(pkg-config --cflags --libs jansson libpcre2-8) -lm -pthread
for n in deepseek-v3 qwen llama3; do
    mkdir -p "$D/$n"
    install -m 644 "$FIX/tokenizers/$n/tokenizer_config.json" "$D/$n/"
    "$B/trim_tokenizer" json "$FIX/tokenizers/$n/tokenizer.json" "$FIX/tokenizer-golden/$n.public.json" "$D/$n/tokenizer.json"
    install -m 644 "$FIX/tokenizer-golden/$n.public.json" "$D/$n.golden.json"
done
for n in deepseek-llm deepseek-coder gpt-2 llama-spm; do
    f=ggml-vocab-$n.gguf
    install -m 644 "$FIX/llama-vocab/$f.inp" "$D/$f.inp"
    "$B/trim_tokenizer" gguf "$FIX/llama-vocab/$f" "$FIX/llama-vocab/$f.inp" "$FIX/llama-vocab/$f.out" "$D/$f" "$D/$f.out"
done
du -sh "$D"
