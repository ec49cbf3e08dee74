#!/bin/sh
# test_tokenize.sh - `seek tokenize`: ids, pieces, decoding, and its errors.
. tests/cli/lib.sh
D=tests/data/tokenizer
J=$D/deepseek-v3/tokenizer.json

# ids from the Hugging Face reference for "Hello world" (deepseek-v3.golden.json)
expect_ok ids $SEEK tokenize --tokenizer $J "Hello world"
expect_out ids_value '^19923 2058$'
expect_ok model_json $SEEK tokenize -m $J "Hello world"
expect_out model_json_value '^19923 2058$'
expect_ok pieces $SEEK tokenize --tokenizer $J --pieces "Hello world"
expect_out pieces_value "^2058	 world$"
expect_ok bos $SEEK tokenize --tokenizer $J --bos "Hello world"
expect_out bos_value '^0 19923 2058$'
expect_ok decode $SEEK tokenize --tokenizer $J --decode 0,19923,2058
expect_out decode_value '^Hello world$'
expect_ok decode_special $SEEK tokenize --tokenizer $J --decode 0,19923 --show-special
expect_out decode_special_value '^<｜begin▁of▁sentence｜>Hello$'
printf 'Hello world' >"$TMP/in.txt"
expect_ok file $SEEK tokenize --tokenizer $J -f "$TMP/in.txt"
expect_out file_value '^19923 2058$'
# GGUF vocabulary (SentencePiece): ids renumbered as in the trimmed .out file
expect_ok spm $SEEK tokenize -m $D/ggml-vocab-llama-spm.gguf "Hello world"
# "Hello world" is text 12 of the .inp file
expect_out spm_value "^$(sed -n 12p $D/ggml-vocab-llama-spm.gguf.out)\$"

expect_error no_model 'give one of -m' $SEEK tokenize "x"
expect_error no_text 'give one of TEXT' $SEEK tokenize --tokenizer $J
expect_error missing_file 'nope.json' $SEEK tokenize --tokenizer $TMP/nope.json "x"
printf '{"model": {' >"$TMP/bad.json"
expect_error bad_json 'bad.json: JSON error' $SEEK tokenize --tokenizer "$TMP/bad.json" "x"
expect_error bad_gguf 'in.txt' $SEEK tokenize -m "$TMP/in.txt" "x"
expect_error bad_id 'not a token id' $SEEK tokenize --tokenizer $J --decode 5,99999999
expect_error bad_utf8 'not valid UTF-8' $SEEK tokenize --tokenizer $J "$(printf 'a\377b')"
