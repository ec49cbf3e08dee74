#!/bin/sh
# kernel_ab.sh REV TYPE [OC C ROUNDS] - paired decode A/B of a weight type's packed kernel:
# src/kernels/ as of git revision REV (A) against the working tree (B), with the bandwidth
# probe in the same rounds (bench/kernel_ab.c says why and how).
#
#   bench/kernel_ab.sh HEAD Q4_K                 # the uncommitted change to the Q4_K kernel
#   bench/kernel_ab.sh HEAD~3 Q6_K 151936 1536   # an output-head shape
#
# A's kernel files are compiled with the build's flags and every global symbol they define
# is renamed A_<name> (objcopy), so both builds link into one program; everything else
# (thread pool, quantizers) is the working tree's. Run from the repository root after `make`.
set -eu
[ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
REV=$1; shift
[ -f build/libseek.a ] || { echo "kernel_ab.sh: run make first" >&2; exit 1; }
CC=${CC:-cc}
FLAGS="-O2 -std=c11 -D_GNU_SOURCE -pthread -march=native -Iinclude -Isrc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
git archive "$REV" src | tar -x -C "$tmp"
for f in "$tmp"/src/kernels/*.c; do
    $CC $FLAGS -I"$tmp/src" -c "$f" -o "$tmp/$(basename "$f" .c).o"
done
nm --defined-only -g "$tmp"/*.o | awk 'NF == 3 { print $3, "A_" $3 }' | sort -u > "$tmp/rename"
for o in "$tmp"/*.o; do objcopy --redefine-syms="$tmp/rename" "$o"; done
$CC $FLAGS -o "$tmp/kernel_ab" bench/kernel_ab.c "$tmp"/*.o build/libseek.a -lm -pthread
"$tmp/kernel_ab" "$@"
