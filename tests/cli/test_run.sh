# seek run: end to end on the small chat model (random weights, the real DeepSeek-V3
# tokenizer and R1's template; built by `make test` as $CHAT_MODEL).
. tests/cli/lib.sh
M=${CHAT_MODEL:-$BUILD/tests/chat-model.gguf}
PY=/usr/bin/python3

# seeded sampling is reproducible; greedy does not depend on the seed
"$SEEK" run -m "$M" -p "Hello, who are you?" -n 24 --seed 7 >"$TMP/a" 2>&1
"$SEEK" run -m "$M" -p "Hello, who are you?" -n 24 --seed 7 >"$TMP/b" 2>&1
if [ -s "$TMP/a" ] && cmp -s "$TMP/a" "$TMP/b"; then ok seeded_runs_identical; else fail seeded_runs_identical "$(head -c 200 "$TMP/a")"; fi
"$SEEK" run -m "$M" -p "Hello" -n 16 --temp 0 --seed 1 >"$TMP/g1" 2>&1
"$SEEK" run -m "$M" -p "Hello" -n 16 --temp 0 --seed 2 >"$TMP/g2" 2>&1
if cmp -s "$TMP/g1" "$TMP/g2"; then ok greedy_ignores_seed; else fail greedy_ignores_seed "outputs differ"; fi

# R1's template opens <think>: plain output shows the reasoning between tags
expect_ok think_plain "$SEEK" run -m "$M" -p "Hello" -n 12 --seed 3
if head -n 1 "$TMP/out" | grep -qx '<think>'; then ok think_plain_tags; else fail think_plain_tags "$(head -c 100 "$TMP/out")"; fi

# the prompt from stdin equals the prompt from -p
printf 'Why is the sky blue?' | "$SEEK" run -m "$M" -n 16 --seed 5 >"$TMP/s1" 2>&1
"$SEEK" run -m "$M" -p 'Why is the sky blue?' -n 16 --seed 5 >"$TMP/s2" 2>&1
if cmp -s "$TMP/s1" "$TMP/s2"; then ok prompt_from_stdin; else fail prompt_from_stdin "differs from -p"; fi

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
"$SEEK" run -m "$M" -p "Tell me a story" -n 40 --temp 0 --no-think --json >"$TMP/full.json" 2>"$TMP/err"
stop=$($PY -c "import json,sys; c=json.load(open(sys.argv[1]))['content']; i=next(i for i in range(len(c)//2, len(c)-2) if '\ufffd' not in c[i:i+2]); print(c[i:i+2])" "$TMP/full.json")
"$SEEK" run -m "$M" -p "Tell me a story" -n 40 --temp 0 --no-think --json --stop "$stop" >"$TMP/out" 2>"$TMP/err"
if $PY -c "
import json,sys
full=json.load(open(sys.argv[1]))['content']; cut=json.load(open(sys.argv[2]))
sys.exit(0 if cut['content'] == full[:full.index(sys.argv[3])] and cut['stop'] == 'stop' else 1)" "$TMP/full.json" "$TMP/out" "$stop"
then ok stop_string; else fail stop_string "stop '$stop': $(head -c 300 "$TMP/out")"; fi

# errors: one clear line, non-zero exit
# without -m: the default model (models/default.gguf) when there is one, else an error
cp "$SEEK" "$TMP/seek-alone"
expect_error no_model "no model" sh -c "cd \"$TMP\" && ./seek-alone run -p hi"
if [ -f models/default.gguf ]; then expect_ok default_model "$SEEK" run -p "What is 12 + 30?" -n 8 --temp 0; fi
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
"$SEEK" run -m "$M" -p "Count to ten" -n 24 --seed 11 -t 1 >"$TMP/t1" 2>&1
"$SEEK" run -m "$M" -p "Count to ten" -n 24 --seed 11 -t 3 >"$TMP/t3" 2>&1
if [ -s "$TMP/t1" ] && cmp -s "$TMP/t1" "$TMP/t3"; then ok threads_same_answer; else fail threads_same_answer "differs"; fi
expect_error bad_threads "bad value '0' for -t" "$SEEK" run -m "$M" -p hi -t 0
