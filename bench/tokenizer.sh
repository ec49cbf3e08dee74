#!/bin/sh
# tokenizer.sh - tokenizer benchmark: seek vs @lenml/tokenizers (node) on the same text.
#   sh bench/tokenizer.sh [TOKENIZER_DIR] [NODE_MODULE_DIR]
# TOKENIZER_DIR defaults to the DeepSeek-V3 fixture; the reference runs only if
# NODE_MODULE_DIR (default /tmp/tokref) holds node_modules/@lenml/tokenizers
# (mkdir -p /tmp/tokref && cd /tmp/tokref && npm install @lenml/tokenizers).
set -e
TOK=${1:-../shared/fixtures/tokenizers/deepseek-v3}
REF=${2:-/tmp/tokref}
B=${BUILD:-build}
make -s "$B/libseek.a"
cc -O2 -march=native -std=c11 -D_GNU_SOURCE -Isrc -o "$B/tokenizer_bench" bench/tokenizer_bench.c "$B/libseek.a" \
   $(pkg-config --cflags --libs jansson libpcre2-8) -lm -pthread
TEXT=$B/bench_text.txt
/usr/bin/python3 bench/make_text.py "$TEXT"
echo "== seek"
"$B/tokenizer_bench" "$TOK/tokenizer.json" "$TEXT" 3
if [ -d "$REF/node_modules/@lenml/tokenizers" ]; then
    echo "== @lenml/tokenizers $(node -p "require('$REF/node_modules/@lenml/tokenizers/package.json').version") (node $(node --version))"
    node bench/tokenizer_ref.mjs "$REF" "$TOK" "$TEXT" 3
fi
