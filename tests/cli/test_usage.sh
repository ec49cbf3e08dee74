#!/bin/sh
# The command line's manners: --help prints the usage alone on stdout (exit 0); a missing
# argument is one "seek: CMD: ..." line on stderr with a pointer to --help (exit 2), never
# the usage dumped in front of an error.
. tests/cli/lib.sh

"$SEEK" >"$TMP/out" 2>"$TMP/err"; rc=$?
if [ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^seek: no command given (see 'seek --help')$" "$TMP/err"
then ok no_command; else fail no_command "rc $rc: $(cat "$TMP/out" "$TMP/err" | head -c 300)"; fi
for h in --help -h help; do
    "$SEEK" $h >"$TMP/out" 2>"$TMP/err"; rc=$?
    if [ $rc -eq 0 ] && grep -q "^usage: seek COMMAND" "$TMP/out" && [ ! -s "$TMP/err" ]; then ok "help_$h"; else fail "help_$h" "rc $rc"; fi
done
# run and chat fall back to models/default.gguf: a copy of the binary outside the checkout
# has no default model, so there they too are missing an argument
cp "$SEEK" "$TMP/seek-alone"
for c in run chat info convert logits perplexity tokenize; do
    "$SEEK" $c --help >"$TMP/out" 2>"$TMP/err"; rc=$?
    if [ $rc -eq 0 ] && grep -q "usage: seek $c" "$TMP/out" && [ ! -s "$TMP/err" ]; then ok "${c}_help"; else fail "${c}_help" "rc $rc: $(head -c 200 "$TMP/err")"; fi
    (cd "$TMP" && ./seek-alone $c >"$TMP/out" 2>"$TMP/err" </dev/null); rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^seek: $c: .* (see 'seek $c --help')$" "$TMP/err"
    then ok "${c}_no_arguments"; else fail "${c}_no_arguments" "rc $rc: $(cat "$TMP/out" "$TMP/err" | head -c 300)"; fi
done
# an option that needs a value, given last, says so (it once said "unknown argument")
for c in "run -p" "run --prompt" "run -f" "run --file" "run -m" "chat --system" "logits -o" "logits --tokens" \
         "convert -o" "tokenize -f" "perplexity --ctx" "info -m"; do
    set -- $c
    expect_error "needs_value_$1_$2" "^seek: $1: option $2 needs a value \(see 'seek $1 --help'\)$" "$SEEK" "$@"
done
# numbers are parsed strictly and the message names the option and the value
expect_error logits_list "logits: --tokens: '1,x' is not a comma-separated list of ids" "$SEEK" logits -m x --tokens 1,x -o y
expect_error ppl_ctx_text "perplexity: --ctx: 'abc' is not an integer" "$SEEK" perplexity -m x -f y --ctx abc
expect_error ppl_ctx_small "perplexity: --ctx: 2 is out of range \(4\.\.16777216\)" "$SEEK" perplexity -m x -f y --ctx 2
expect_error unknown_option "^seek: convert: unknown option '--frob' \(see 'seek convert --help'\)$" "$SEEK" convert dir --frob
