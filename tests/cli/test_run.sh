# seek run: end to end on the small chat model (random weights, the real DeepSeek-V3
# tokenizer and R1's template; built by `make test` as $CHAT_MODEL).
. tests/cli/lib.sh
M=${CHAT_MODEL:-$BUILD/tests/chat-model.gguf}
PY=/usr/bin/python3

# seeded sampling is reproducible (and the seed matters); greedy does not depend on the seed.
# Each run must succeed (run_ok), and only stdout is compared.
run_ok seeded_runs_identical "$TMP/a" "$SEEK" run -m "$M" -p "Hello, who are you?" -n 24 --seed 7 &&
run_ok seeded_runs_identical "$TMP/b" "$SEEK" run -m "$M" -p "Hello, who are you?" -n 24 --seed 7 &&
same seeded_runs_identical "$TMP/a" "$TMP/b"
run_ok seed_matters "$TMP/c" "$SEEK" run -m "$M" -p "Hello, who are you?" -n 24 --seed 8 && differ seed_matters "$TMP/a" "$TMP/c"
run_ok greedy_ignores_seed "$TMP/g1" "$SEEK" run -m "$M" -p "Hello" -n 16 --temp 0 --seed 1 &&
run_ok greedy_ignores_seed "$TMP/g2" "$SEEK" run -m "$M" -p "Hello" -n 16 --temp 0 --seed 2 &&
same greedy_ignores_seed "$TMP/g1" "$TMP/g2"

# ids of a --json run, one line
ids() { "$SEEK" run -m "$M" --json "$@" 2>"$TMP/ids.err" | $PY -c "import json,sys; print(json.load(sys.stdin)['tokens']['ids'])"; }
# --top-k 1 makes any temperature greedy (top-p and min-p off, so only top-k can do it)
ids -p "Tell me a story" -n 20 --no-think --temp 0 >"$TMP/k0"
ids -p "Tell me a story" -n 20 --no-think --temp 5 --top-p 1 --min-p 0 --seed 3 >"$TMP/k5"
ids -p "Tell me a story" -n 20 --no-think --temp 5 --top-p 1 --min-p 0 --seed 3 --top-k 1 >"$TMP/k1"
differ hot_sampling_is_not_greedy "$TMP/k0" "$TMP/k5"
same top_k_1_is_greedy "$TMP/k0" "$TMP/k1"
# --repeat-penalty: greedy repeats tokens on this model; a strong penalty over the whole
# history (--repeat-last-n -1) leaves no id twice
ids -p "Tell me a story" -n 80 --no-think --temp 0 >"$TMP/r0"
ids -p "Tell me a story" -n 80 --no-think --temp 0 --repeat-penalty 100 --repeat-last-n -1 >"$TMP/r1"
if $PY -c "import sys,ast; a=ast.literal_eval(open(sys.argv[1]).read()); b=ast.literal_eval(open(sys.argv[2]).read()); sys.exit(0 if len(set(a)) < len(a) and len(b) == 80 and len(set(b)) == len(b) else 1)" "$TMP/r0" "$TMP/r1"
then ok repeat_penalty_applies; else fail repeat_penalty_applies "greedy $(cat "$TMP/r0") penalised $(cat "$TMP/r1") $(cat "$TMP/ids.err")"; fi
# --raw: the prompt is tokenized as is (BOS + the text's ids), without the chat template
"$SEEK" run -m "$M" --raw -p "Tell me a story" -n 2 --temp 0 --json >"$TMP/raw.json" 2>"$TMP/raw.err"
n_tok=$("$SEEK" tokenize -m "$M" --bos "Tell me a story" | wc -w)
n_raw=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['tokens']['prompt'])" "$TMP/raw.json" 2>/dev/null)
if [ -n "$n_raw" ] && [ "$n_raw" -eq "$n_tok" ]; then ok raw_prompt_untemplated; else fail raw_prompt_untemplated "prompt tokens $n_raw, tokenize gives $n_tok $(cat "$TMP/raw.err")"; fi

# R1's template opens <think>: plain output shows the reasoning between tags
expect_ok think_plain "$SEEK" run -m "$M" -p "Hello" -n 12 --seed 3
if head -n 1 "$TMP/out" | grep -qx '<think>'; then ok think_plain_tags; else fail think_plain_tags "$(head -c 100 "$TMP/out")"; fi

# the prompt from stdin equals the prompt from -p
printf 'Why is the sky blue?' >"$TMP/q.txt"
run_ok prompt_from_stdin "$TMP/s1" sh -c "\"$SEEK\" run -m \"$M\" -n 16 --seed 5 <\"$TMP/q.txt\"" &&
run_ok prompt_from_stdin "$TMP/s2" "$SEEK" run -m "$M" -p 'Why is the sky blue?' -n 16 --seed 5 &&
same prompt_from_stdin "$TMP/s1" "$TMP/s2"

# --json: one object; tokens, timings; reasoning is a string (R1 thinks), null with --no-think
expect_ok json "$SEEK" run -m "$M" -p "Hi" -n 10 --seed 9 --json
check_json() {   # NAME PYTHON-EXPR over j
    if $PY -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$TMP/out" 2>"$TMP/pyerr"
    then ok "$1"; else fail "$1" "$(head -c 300 "$TMP/out") $(cat "$TMP/pyerr")"; fi
}
check_json json_fields "isinstance(j['content'], str) and isinstance(j['reasoning'], str) and 0 < j['tokens']['generated'] <= 10 and len(j['tokens']['ids']) == j['tokens']['generated'] and j['tokens']['prompt'] > 0 and j['timings']['generation_ms'] >= 0 and j['stop'] in ('eos', 'length')"
expect_ok json_no_think "$SEEK" run -m "$M" -p "Hi" -n 10 --seed 9 --json --no-think
check_json json_no_think_null "j['reasoning'] is None"

# --stop: the text shown is exactly what comes before the stop string
run_ok stop_string "$TMP/full.json" "$SEEK" run -m "$M" -p "Tell me a story" -n 40 --temp 0 --no-think --json
stop=$($PY -c "import json,sys; c=json.load(open(sys.argv[1]))['content']; i=next(i for i in range(len(c)//2, len(c)-2) if '\ufffd' not in c[i:i+2]); print(c[i:i+2])" "$TMP/full.json")
"$SEEK" run -m "$M" -p "Tell me a story" -n 40 --temp 0 --no-think --json --stop "$stop" >"$TMP/out" 2>"$TMP/err"
if $PY -c "
import json,sys
full=json.load(open(sys.argv[1]))['content']; cut=json.load(open(sys.argv[2]))
sys.exit(0 if cut['content'] == full[:full.index(sys.argv[3])] and cut['stop'] == 'stop' else 1)" "$TMP/full.json" "$TMP/out" "$stop"
then ok stop_string; else fail stop_string "stop '$stop': $(head -c 300 "$TMP/out")"; fi

# errors: one clear line, non-zero exit
expect_error no_model "no model" "$SEEK" run -p hi
expect_error missing_model "nope.gguf" "$SEEK" run -m "$TMP/nope.gguf" -p hi
expect_error empty_prompt "prompt is empty" sh -c "\"$SEEK\" run -m \"$M\" </dev/null"
expect_error bad_temp "bad value 'hot' for --temp" "$SEEK" run -m "$M" -p hi --temp hot
expect_error bad_top_p "bad value '1.5' for --top-p" "$SEEK" run -m "$M" -p hi --top-p 1.5
expect_error unknown_arg "unknown argument '--bogus'" "$SEEK" run -m "$M" -p hi --bogus
expect_error prompt_too_long "needs [0-9]+ tokens but the context has room for 56 \\(use a larger --ctx\\)" "$SEEK" run -m "$M" -p "$(seq 1 200 | tr '\n' ' ')" --ctx 64 -n 8
expect_error not_a_model "tokenizer|tensor|architecture" "$SEEK" run -m tests/data/gguf/ggml-vocab-deepseek-coder.gguf -p hi
"$SEEK" convert tests/data/hf/qwen2-tiny -o "$TMP/notok.gguf" >/dev/null 2>&1
expect_error model_without_tokenizer "notok.gguf: no tokenizer" "$SEEK" run -m "$TMP/notok.gguf" -p hi
"$SEEK" run -m "$M" -p hi -n 1 --ctx 8192 >"$TMP/out" 2>"$TMP/err"
if grep -q "more than the 4096 the model was trained for" "$TMP/err"; then ok ctx_over_training_warns; else fail ctx_over_training_warns "$(cat "$TMP/err")"; fi
# the thread count changes the speed, not the answer
run_ok threads_same_answer "$TMP/t1" "$SEEK" run -m "$M" -p "Count to ten" -n 24 --seed 11 -t 1 &&
run_ok threads_same_answer "$TMP/t3" "$SEEK" run -m "$M" -p "Count to ten" -n 24 --seed 11 -t 3 &&
same threads_same_answer "$TMP/t1" "$TMP/t3"
expect_error bad_threads "bad value '0' for -t" "$SEEK" run -m "$M" -p hi -t 0
# --cache-type: every cache type runs (greedy, f32 and the default f16 give the same text on
# this model); an unknown type is one clear error
"$SEEK" run -m "$M" -p "Count to ten" -n 16 --temp 0 --cache-type f32 >"$TMP/c32" 2>&1
"$SEEK" run -m "$M" -p "Count to ten" -n 16 --temp 0 >"$TMP/c16" 2>&1
if [ -s "$TMP/c32" ] && cmp -s "$TMP/c32" "$TMP/c16"; then ok cache_f16_same_greedy_text; else fail cache_f16_same_greedy_text "differs"; fi
expect_ok cache_bf16 "$SEEK" run -m "$M" -p hi -n 4 --cache-type bf16
expect_ok cache_q8_0 "$SEEK" run -m "$M" -p hi -n 4 --cache-type Q8_0
expect_error bad_cache_type "cache type 'q4_0': expected f32, f16, bf16 or q8_0" "$SEEK" run -m "$M" -p hi --cache-type q4_0
