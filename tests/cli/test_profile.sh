#!/bin/sh
# SEEK_PROFILE=1 (src/profile.c): one-token matrix products are counted by kind, products of
# several tokens by weight type, attention per layer, all reported at exit; nothing is printed
# without it, and the logits do not change.
. tests/cli/lib.sh
M=tests/data/gguf/model-Q4_K_S.gguf   # one llama layer: qkv (3 items), gate+up (2), wo, down, output (1 each)
tokens=1,17,200,3,299,42,7,211,128,64,250,5   # 12 tokens

run_ok plain "$TMP/plain" "$SEEK" logits -m "$M" --tokens $tokens -o "$TMP/a.f32" --one-by-one &&
    if grep -q '^profile:' "$TMP/plain.err"; then fail off_silent "printed a profile without SEEK_PROFILE"; else ok off_silent; fi
run_ok on "$TMP/on" env SEEK_PROFILE=1 "$SEEK" logits -m "$M" --tokens $tokens -o "$TMP/b.f32" --one-by-one
same same_logits "$TMP/a.f32" "$TMP/b.f32"
# per token: one 3-item call, one 2-item call and three 1-item calls
calls() { awk -v n="$1" '$1 == "profile:" && $2 == n && $3 == "items" { s += $5 } END { print s + 0 }' "$TMP/on.err"; }
c3=$(calls 3) c2=$(calls 2) c1=$(calls 1)
if [ "$c3" = 12 ] && [ "$c2" = 12 ] && [ "$c1" = 36 ]; then ok calls_by_kind
else fail calls_by_kind "3/2/1-item calls $c3/$c2/$c1, expected 12/12/36"; fi
if grep -qE '^profile: all +[0-9.]+ MiB +[0-9.]+ ms +[0-9.]+ GB/s$' "$TMP/on.err"; then ok total_line
else fail total_line "no total: $(grep 'profile: all' "$TMP/on.err")"; fi
# one layer: one attention call per token
if grep -qE '^profile: attention, one token: 12 calls ' "$TMP/on.err"; then ok attention_per_token
else fail attention_per_token "$(grep attention "$TMP/on.err")"; fi
# a batch of 12 tokens is not a one-token product
run_ok batch "$TMP/batch" env SEEK_PROFILE=1 "$SEEK" logits -m "$M" --tokens $tokens -o "$TMP/c.f32"
if grep -qE '^profile: +[0-9]+ items' "$TMP/batch.err"; then fail batch_not_counted "$(grep items "$TMP/batch.err" | head -1)"
else ok batch_not_counted; fi
# ... but a product of several tokens: qkv, wo, gate+up, down and the output head, 5 calls
# of 2 x 12 x rows x columns flops; and one attention call over the 12 tokens
if awk '$1 == "profile:" && $2 == "Q4_K" && $3 == 5 && $4 == "calls" && $5 > 0 && $10 > 0 { f = 1 } END { exit !f }' "$TMP/batch.err"
then ok batched_products; else fail batched_products "$(grep 'Q4_K' "$TMP/batch.err")"; fi
if grep -qE '^profile: attention, several tokens: 1 calls ' "$TMP/batch.err" && ! grep -q 'one token' "$TMP/batch.err"
then ok attention_batched; else fail attention_batched "$(grep attention "$TMP/batch.err")"; fi
# MLA (a 3-layer deepseek2): attention once per layer in either order, one token or several;
# the naive order's decompression is one product more per layer (18 calls against 15)
V2="$TMP/v2.gguf"
if "$SEEK" convert tests/data/hf/deepseek-v2-lite-tiny -o "$V2" --type f32 >/dev/null 2>&1; then
    for order in naive absorbed; do
        env SEEK_PROFILE=1 "$SEEK" logits -m "$V2" --tokens 1,17,200,3,29,42,7 -o "$TMP/v.f32" --$order 2>"$TMP/$order.err" >/dev/null
        want=15; [ $order = naive ] && want=18
        if grep -qE '^profile: +F32 +'$want' calls ' "$TMP/$order.err" && grep -qE '^profile: attention, several tokens: 3 calls ' "$TMP/$order.err"
        then ok mla_$order; else fail mla_$order "$(grep -E 'F32|attention' "$TMP/$order.err" | tr '\n' ' ')"; fi
    done
    env SEEK_PROFILE=1 "$SEEK" logits -m "$V2" --tokens 1,17,200,3,29,42,7 -o "$TMP/v.f32" --one-by-one 2>"$TMP/one.err" >/dev/null
    if grep -qE '^profile: attention, one token: 21 calls ' "$TMP/one.err"; then ok mla_one_token
    else fail mla_one_token "$(grep attention "$TMP/one.err")"; fi
else fail mla_convert "seek convert failed"; fi
