#!/bin/sh
# Weights packed at load (src/repack.c): seek info says what is packed, and the logits are
# the same bits with and without packing, batched and one token at a time; for a Q4_K file
# and for Q5_K_M (kquants_packed56.c), Q8_0 and Q5_0 (seek quantize --pure, legacy_packed.c)
# copies of it.
. tests/cli/lib.sh
M=tests/data/gguf/model-Q4_K_S.gguf   # 9 Q4_K tensors: token_embd (not packed: output.weight exists) + 8
# The same model as Q5_K_M (made here): Q5_K attn_q/k/output, ffn_gate/up and token_embd
# (not packed); Q6_K output (300 rows: the last group of 16 padded), attn_v, ffn_down.
M56=$TMP/m56.gguf
"$SEEK" quantize "$M" "$M56" Q5_K_M --quiet || fail setup "quantize Q5_K_M"

level=$("$SEEK" info --brief "$M" | sed -n 's/^kernels: *\([a-z0-9]*\).*/\1/p')

# check TAG FILE SIZE [AVX2]: SIZE is what the 8 packed tensors take (16-row groups:
# output.weight's 300 rows count as 304); AVX2 what is packed at AVX2 ("N tensors (SIZE)":
# Q4_K, Q5_K, Q6_K and the legacy types; none: nothing)
check() {
    tag=$1 f=$2 size=$3 avx2=${4:-}
    expect_ok info_$tag "$SEEK" info --brief "$f"
    if [ "$level" = avx512 ]; then
        expect_out info_packed_$tag "^kernels: +avx512; 8 tensors \\($size\\) are repacked at load into 16-row panels\$"
    elif [ "$level" = avx2 ] && [ -n "$avx2" ]; then
        expect_out info_packed_avx2_$tag "^kernels: +avx2; $avx2 are repacked at load into 16-row panels\$"
    else
        expect_out info_not_packed_$tag "^kernels: +$level\$"
    fi
    expect_ok info_off_$tag env SEEK_REPACK=0 "$SEEK" info --brief "$f"
    expect_out info_off_not_packed_$tag '^kernels: +[a-z0-9]+$'

    tokens=1,17,200,3,299,42,7,211,128,64,250,5
    for mode in batch one-by-one; do
        flag=; [ $mode = one-by-one ] && flag=--one-by-one
        expect_ok logits_packed_${mode}_$tag "$SEEK" logits -m "$f" --tokens $tokens -o "$TMP/p.f32" $flag
        expect_ok logits_plain_${mode}_$tag env SEEK_REPACK=0 "$SEEK" logits -m "$f" --tokens $tokens -o "$TMP/u.f32" $flag
        if [ -s "$TMP/p.f32" ] && cmp -s "$TMP/p.f32" "$TMP/u.f32"; then ok same_bits_${mode}_$tag
        else fail same_bits_${mode}_$tag "packed and plain logits differ"; fi
        rm -f "$TMP/p.f32" "$TMP/u.f32"
    done
}

check q4k "$M" '402.75 KiB' '8 tensors \(402.75 KiB\)'
# packed sizes (kquants_packed56.c): Q5_K 176 bytes per row and super-block (attn_q/k/output
# 256 rows, gate/up 512: 132 + 176 KiB); Q6_K per group of 16 rows a 64-byte D area per
# 1-2 super-blocks + 3328 bytes per super-block (output 19 groups x 3392, attn_v 16 x 3392,
# ffn_down 16 x (64 + 2 x 3328): 62.94 + 53 + 105 KiB)
check q56 "$M56" '528.94 KiB' '8 tensors \(528.94 KiB\)'
# n_embd 256, n_ff 512, vocab 300: q k v o 256 rows, gate up 512, down 256, output 304, of
# 256 values (Q8_0: 8 x 34 = 272 B, Q5_0: 8 x 22 = 176 B) or 512 (down: 544 B, 352 B)
#   Q8_0: (4 x 256 + 304) x 272 + (2 x 512 x 272 + 256 x 544) = 779008 B = 760.75 KiB
#   Q5_0: (4 x 256 + 304) x 176 + (2 x 512 x 176 + 256 x 352) = 504064 B = 492.25 KiB
for t in Q8_0 Q5_0; do
    expect_ok quantize_$t "$SEEK" quantize "$M" "$TMP/m-$t.gguf" $t --pure
done
check q8_0 "$TMP/m-Q8_0.gguf" '760.75 KiB' '8 tensors \(760.75 KiB\)'
check q5_0 "$TMP/m-Q5_0.gguf" '492.25 KiB' '8 tensors \(492.25 KiB\)'

# AVX-VNNI at the AVX2 level (src/kernels/cpu.c): SEEK_CPU=avxvnni uses it where the CPU has
# it and says so; SEEK_CPU=avx2 never; the logits are the same bits either way
if grep -qw avx_vnni /proc/cpuinfo 2>/dev/null && [ "$level" != scalar ]; then
    expect_ok info_avxvnni env SEEK_CPU=avxvnni "$SEEK" info --brief "$TMP/m-Q8_0.gguf"
    expect_out info_avxvnni_line '^dot products: +AVX-VNNI'
    expect_ok logits_avxvnni env SEEK_CPU=avxvnni "$SEEK" logits -m "$TMP/m-Q8_0.gguf" --tokens 1,17,200,3 -o "$TMP/v.f32"
    expect_ok logits_avx2 env SEEK_CPU=avx2 "$SEEK" logits -m "$TMP/m-Q8_0.gguf" --tokens 1,17,200,3 -o "$TMP/a.f32"
    same same_bits_avxvnni "$TMP/v.f32" "$TMP/a.f32"
fi
expect_ok info_avx2_plain env SEEK_CPU=avx2 "$SEEK" info --brief "$TMP/m-Q8_0.gguf"
if grep -q 'AVX-VNNI' "$TMP/out"; then fail info_avx2_no_vnni "SEEK_CPU=avx2 uses AVX-VNNI"; else ok info_avx2_no_vnni; fi
