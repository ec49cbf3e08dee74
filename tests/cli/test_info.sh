#!/bin/sh
# seek info on real GGUF files, on files our writer made, and on bad input.
. tests/cli/lib.sh
D=tests/data/gguf

expect_ok vocab_file "$SEEK" info "$D/ggml-vocab-deepseek-coder.gguf"
expect_out vocab_arch '^architecture: +llama$'
expect_out vocab_tokenizer '^tokenizer: +gpt2 \(byte-level BPE\), pre-tokenizer deepseek-coder, 32256 tokens'
expect_out vocab_bos 'bos_token_id 32013 "<｜begin▁of▁sentence｜>"'
expect_out vocab_long_array_summarised 'tokenizer.ggml.tokens +array +\[string x 32256\] .*, \.\.\.$'
expect_out vocab_key 'llama.block_count +u32 +32$'

expect_ok quant_file "$SEEK" info "$D/model-Q4_K_S.gguf"
expect_out quant_totals '^tensor types: +F32 x3 \(3.00 KiB\) Q4_K x9 \(444.38 KiB\)$'
expect_out quant_tensor 'blk.0.ffn_down.weight +Q4_K +\[512, 256\] +72.00 KiB'
expect_out quant_params '^parameters: +809.73 K'

# the KV cache a run needs, from the metadata above: (head 256 / 4 = 64 keys + 64 values)
# x 4 kv heads x 1 layer x 2 bytes = 1024 B a token; context 512 (the trained one, below 4096)
expect_out quant_kv '^KV cache: +1.00 KiB per token at f16 \(\(keys 64 \+ values 64\) x 4 kv heads x 1 layer x 2 bytes\); 512.00 KiB at 512 tokens, 512.00 KiB at the trained 512$'
expect_ok vocab_only_kv "$SEEK" info --brief "$D/ggml-vocab-deepseek-coder.gguf"
expect_out vocab_only_kv_note "^KV cache: +- \(not a loadable model: .*missing tensor 'token_embd.weight'\)$"

expect_ok brief "$SEEK" info --brief "$D/model-Q4_K_S.gguf"
if grep -q 'blk.0.ffn_down' "$TMP/out"; then fail brief_hides_tensors "tensor listed"; else ok brief_hides_tensors; fi

# broken files: each gives one clear message and a non-zero exit
expect_error missing_file 'nope.gguf: No such file' "$SEEK" info "$TMP/nope.gguf"
expect_error no_args 'no file given' "$SEEK" info
printf 'GGML\3\0\0\0' >"$TMP/magic.gguf"
expect_error bad_magic 'not a GGUF file' "$SEEK" info "$TMP/magic.gguf"
head -c 400000 "$D/model-Q4_K_S.gguf" >"$TMP/cut.gguf"
expect_error truncated "cut.gguf: tensor '.*' .*extends past the end of the file" "$SEEK" info "$TMP/cut.gguf"
head -c 5000 "$D/ggml-vocab-deepseek-coder.gguf" >"$TMP/cutvocab.gguf"
expect_error truncated_header "cutvocab.gguf: key 'tokenizer.ggml.tokens': array of 32256 string elements does not fit" "$SEEK" info "$TMP/cutvocab.gguf"
expect_error unknown_command "unknown command 'frobnicate'" "$SEEK" frobnicate

# a file written by our writer with every metadata value type and every tensor type
W="$BUILD/tests/writer-all-types.gguf"
missing=""
if [ -f "$W" ]; then
    expect_ok writer_file "$SEEK" info "$W"
    expect_out writer_nkeys '^format: +GGUF v3, 18 metadata keys, 32 tensors, alignment 32$'
    for t in F32 F16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ2_XXS IQ2_XS IQ3_XXS \
             IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS I8 I16 I32 I64 F64 IQ1_M BF16 TQ1_0 TQ2_0 MXFP4; do
        grep -qE "^  t\.$t +$t " "$TMP/out" || missing="$missing $t"
    done
    if [ -z "$missing" ]; then ok writer_all_tensor_types; else fail writer_all_tensor_types "not listed:$missing"; fi
    expect_out writer_i64 'v.i64 +i64 +-9223372036854775808$'
    expect_out writer_u64 'v.u64 +u64 +18446744073709551615$'
    expect_out writer_str 'v.str +string +"DeepSeek <｜User｜> \\n\\t\\"x\\""$'
    expect_out writer_bool_arr 'a.bool +array +\[bool x 3\] true, false, true$'
    expect_out writer_f32_arr 'a.f32 +array +\[f32 x 3\] 1.5, -2.25, 1e\+30$'
    expect_out writer_str_arr 'a.str +array +\[string x 3\] "Ġthe", "", "<think>"$'
else
    fail writer_file "$W missing (test_gguf did not run?)"
fi

# deepseek2 (the chat model's metadata: kv_lora_rank 32, rope.dimension_count 8, block_count 3):
# MLA caches one latent row a token, (32 + 8) x 3 layers x 2 bytes = 240 B; 4096 tokens 960 KiB
M=${CHAT_MODEL:-$BUILD/tests/chat-model.gguf}
if [ -f "$M" ]; then
    expect_ok mla_file "$SEEK" info --brief "$M"
    expect_out mla_kv '^KV cache: +240 B per token at f16 \(MLA latent: \(kv_lora_rank 32 \+ rope 8\) x 3 layers x 2 bytes\); 960.00 KiB at 4096 tokens, 960.00 KiB at the trained 4096$'
else
    fail mla_file "$M missing"
fi
