#!/bin/sh
# Weights packed at load (src/repack.c): seek info says what is packed, and the logits are
# the same bits with and without packing, batched and one token at a time.
. tests/cli/lib.sh
M=tests/data/gguf/model-Q4_K_S.gguf   # 9 Q4_K tensors: token_embd (not packed: output.weight exists) + 8
# The same model as Q5_K_M (made here): Q5_K attn_q/k/output, ffn_gate/up and token_embd
# (not packed); Q6_K output (300 rows: the last group of 16 padded), attn_v, ffn_down.
M56=$TMP/m56.gguf
"$SEEK" quantize "$M" "$M56" Q5_K_M --quiet || fail setup "quantize Q5_K_M"

level=$("$SEEK" info --brief "$M" | sed -n 's/^kernels: *\([a-z0-9]*\).*/\1/p')
expect_ok info "$SEEK" info --brief "$M"
if [ "$level" = avx512 ]; then
    expect_out info_packed '^kernels: +avx512; 8 tensors \(402.75 KiB\) are repacked at load into 16-row panels$'
else
    expect_out info_not_packed "^kernels: +$level\$"
fi
expect_ok info_off env SEEK_REPACK=0 "$SEEK" info --brief "$M"
expect_out info_off_not_packed '^kernels: +[a-z0-9]+$'
# packed sizes (kquants_packed56.c): Q5_K 176 bytes per row and super-block (attn_q/k/output
# 256 rows, gate/up 512: 132 + 176 KiB); Q6_K per group of 16 rows a 64-byte D area per
# 1-2 super-blocks + 3328 bytes per super-block (output 19 groups x 3392, attn_v 16 x 3392,
# ffn_down 16 x (64 + 2 x 3328): 62.94 + 53 + 105 KiB)
expect_ok info_56 "$SEEK" info --brief "$M56"
if [ "$level" = avx512 ]; then
    expect_out info_56_packed '^kernels: +avx512; 8 tensors \(528.94 KiB\) are repacked at load into 16-row panels$'
else
    expect_out info_56_not_packed "^kernels: +$level\$"
fi

tokens=1,17,200,3,299,42,7,211,128,64,250,5
for model in q4k q56; do
    file=$M; [ $model = q56 ] && file=$M56
    for mode in batch one-by-one; do
        flag=; [ $mode = one-by-one ] && flag=--one-by-one
        expect_ok logits_packed_${model}_$mode "$SEEK" logits -m "$file" --tokens $tokens -o "$TMP/p.f32" $flag
        expect_ok logits_plain_${model}_$mode env SEEK_REPACK=0 "$SEEK" logits -m "$file" --tokens $tokens -o "$TMP/u.f32" $flag
        if [ -s "$TMP/p.f32" ] && cmp -s "$TMP/p.f32" "$TMP/u.f32"; then ok same_bits_${model}_$mode
        else fail same_bits_${model}_$mode "packed and plain logits differ"; fi
    done
done
