#!/bin/sh
# Weights packed at load (src/repack.c): seek info says what is packed, and the logits are
# the same bits with and without packing, batched and one token at a time.
. tests/cli/lib.sh
M=tests/data/gguf/model-Q4_K_S.gguf   # 9 Q4_K tensors: token_embd (not packed: output.weight exists) + 8

level=$("$SEEK" info --brief "$M" | sed -n 's/^kernels: *\([a-z0-9]*\).*/\1/p')
expect_ok info "$SEEK" info --brief "$M"
if [ "$level" = avx512 ]; then
    expect_out info_packed '^kernels: +avx512; 8 tensors \(402.75 KiB\) are repacked at load into 16-row panels$'
else
    expect_out info_not_packed "^kernels: +$level\$"
fi
expect_ok info_off env SEEK_REPACK=0 "$SEEK" info --brief "$M"
expect_out info_off_not_packed '^kernels: +[a-z0-9]+$'

tokens=1,17,200,3,299,42,7,211,128,64,250,5
for mode in batch one-by-one; do
    flag=; [ $mode = one-by-one ] && flag=--one-by-one
    expect_ok logits_packed_$mode "$SEEK" logits -m "$M" --tokens $tokens -o "$TMP/p.f32" $flag
    expect_ok logits_plain_$mode env SEEK_REPACK=0 "$SEEK" logits -m "$M" --tokens $tokens -o "$TMP/u.f32" $flag
    if [ -s "$TMP/p.f32" ] && cmp -s "$TMP/p.f32" "$TMP/u.f32"; then ok same_bits_$mode
    else fail same_bits_$mode "packed and plain logits differ"; fi
done
