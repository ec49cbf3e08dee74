# seek tokenizer-train: the trained tokenizer.json tokenizes held-out text exactly as an
# independent implementation of Hugging Face's BPE (tests/bpe_ref.py, Python + regex) does,
# seek recognises its pre-tokenizer as DeepSeek-V3's, and digits are never merged by default.
. tests/cli/lib.sh
PY=/usr/bin/python3
if ! $PY -c "import regex" 2>/dev/null; then echo "# test_tokenizer_train: skipped (python3-regex missing)"; exit 0; fi
$PY scripts/gen_arith.py --out "$TMP/a" --n 800 --seed 5 --test 1 >/dev/null
cat >"$TMP/extra.txt" <<'TXT'
The quick brown fox jumps over the lazy dog. It's 12:45, isn't it? "Yes," she said -- 100% sure!
Ein Übergrößenträger aß 3 Äpfel; naïve café déjà vu. Ça va? ¿Qué tal? Привет, мир!
数学是科学的语言。ひらがなとカタカナ、漢字。 Tabs	and   spaces   
  trailing spaces and
blank lines


end 1234567 x=y+z; f(a,b) -> [1, 2, 3] {k: v} @user #tag $5.00 ~/path/to/file.c
TXT
cat "$TMP/a/train.txt" "$TMP/extra.txt" "$TMP/extra.txt" >"$TMP/corpus.txt"
mkdir -p "$TMP/tok"
expect_ok train "$SEEK" tokenizer-train -f "$TMP/corpus.txt" --vocab 700 -o "$TMP/tok/tokenizer.json"
$PY scripts/gen_arith.py --out "$TMP/b" --n 30 --seed 99 --test 1 >/dev/null
cat "$TMP/extra.txt" "$TMP/b/train.txt" >"$TMP/heldout.txt"
printf 'Unseen words: zebra quixotic 🦀 emoji, 9876543210 and <think>tags</think> mid-text.\n' >>"$TMP/heldout.txt"
"$SEEK" tokenize --tokenizer "$TMP/tok/tokenizer.json" -f "$TMP/heldout.txt" >"$TMP/seek.ids" 2>"$TMP/err"
$PY tests/bpe_ref.py "$TMP/tok/tokenizer.json" "$TMP/heldout.txt" >"$TMP/ref.ids"
if [ -s "$TMP/ref.ids" ] && [ "$(tr -s ' \n' '  ' <"$TMP/seek.ids" | sed 's/ *$//')" = "$(tr -s ' \n' '  ' <"$TMP/ref.ids" | sed 's/ *$//')" ]; then
    ok heldout_ids_match_reference
else
    fail heldout_ids_match_reference "seek $(head -c 200 "$TMP/seek.ids") / ref $(head -c 200 "$TMP/ref.ids") $(cat "$TMP/err")"
fi
n=$(wc -w <"$TMP/ref.ids"); b=$(wc -c <"$TMP/heldout.txt")
if [ "$n" -gt 0 ] && [ "$n" -lt "$b" ]; then ok merges_compress; else fail merges_compress "$n tokens for $b bytes"; fi
# digits stay single tokens: "347" is three tokens
"$SEEK" tokenize --tokenizer "$TMP/tok/tokenizer.json" --pieces "347" >"$TMP/out" 2>&1
if [ "$(wc -l <"$TMP/out")" -eq 3 ]; then ok digits_unmerged; else fail digits_unmerged "$(cat "$TMP/out")"; fi
# the tokenizer carries through GGUF: seek info names the DeepSeek-V3 pre-tokenizer
"$SEEK" tokenize --tokenizer "$TMP/tok/tokenizer.json" --pieces "<｜User｜>hi<think>" >"$TMP/out" 2>&1
expect_out added_tokens_whole "<｜User｜>"
