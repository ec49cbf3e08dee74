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
