# seek chat with plain input/output (not a terminal): commands, history, save/load, context.
. tests/cli/lib.sh
M=${CHAT_MODEL:-$BUILD/tests/chat-model.gguf}
PY=/usr/bin/python3

# every session here must end normally (exit 0): a chat that fails outright must not pass
# a comparison because two failed runs look alike
chat() {   # (runs inside pipelines, so the session counter lives in a file)
    n_chat=$(($(cat "$TMP/n_chat" 2>/dev/null || echo 0) + 1)); echo $n_chat >"$TMP/n_chat"
    "$SEEK" chat -m "$M" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    if [ $rc -ne 0 ]; then fail "chat_session_$n_chat" "exit $rc: $(head -c 300 "$TMP/err")"; fi
    return $rc
}

# two turns, /save: the saved history has both turns and the assistant's reasoning apart
printf 'Hello\nWhat is 2+2?\n/save %s\n/exit\n' "$TMP/c.json" | chat -n 12 --seed 1 --system "Be brief"
if $PY -c "
import json,sys
m=json.load(open(sys.argv[1]))['messages']
r=[x['role'] for x in m]
ok = r == ['system','user','assistant','user','assistant'] and m[0]['content']=='Be brief' and m[3]['content']=='What is 2+2?'
ok = ok and all('reasoning_content' in x for x in m if x['role']=='assistant')
sys.exit(0 if ok else 1)" "$TMP/c.json"; then ok save_two_turns; else fail save_two_turns "$(head -c 400 "$TMP/c.json") $(cat "$TMP/err")"; fi

# /load then /save gives the same conversation back
printf '/load %s\n/save %s\n' "$TMP/c.json" "$TMP/d.json" | chat
if [ -s "$TMP/c.json" ] && cmp -s "$TMP/c.json" "$TMP/d.json"; then ok load_save_roundtrip; else fail load_save_roundtrip "$(cat "$TMP/out" "$TMP/err")"; fi

# a loaded conversation goes on as if it had never stopped (greedy, so the answers match)
printf 'Hello\nWhat is 2+2?\nAnd 3+3?\n/save %s\n' "$TMP/direct.json" | chat -n 12 --temp 0 --system "Be brief"
printf 'Hello\nWhat is 2+2?\n/save %s\n' "$TMP/g.json" | chat -n 12 --temp 0 --system "Be brief"
printf '/load %s\nAnd 3+3?\n/save %s\n' "$TMP/g.json" "$TMP/loaded.json" | chat -n 12 --temp 0
if [ -s "$TMP/direct.json" ] && cmp -s "$TMP/direct.json" "$TMP/loaded.json"; then ok load_continues
else fail load_continues "$(cat "$TMP/err")"; fi

# /reset forgets the conversation: the answer after it equals a fresh chat's first answer
printf 'Tell me about the sea\n/reset\nHello\n' | chat -n 10 --temp 0
sed -n '/(new conversation)/,$p' "$TMP/out" | tail -n +2 >"$TMP/after_reset"
printf 'Hello\n' | chat -n 10 --temp 0
if [ -s "$TMP/after_reset" ] && cmp -s "$TMP/after_reset" "$TMP/out"; then ok reset_forgets
else fail reset_forgets "$(cat "$TMP/after_reset") vs $(cat "$TMP/out")"; fi

# commands
printf '/help\n/temp 0.3\n/temp\n/temp hot\n/think off\n/system\n/show\n/bogus\n' | chat
expect_out help_lists_commands "/save FILE"
expect_out temp_set "temperature set to 0.3"
expect_out temp_shown "^temperature 0.3$"
expect_out temp_bad "needs a number"
expect_out think_off "thinking off|reasoning hidden"
expect_out system_none "system prompt: \(none\)"
expect_out show_nothing "had no reasoning"
expect_out unknown_command "unknown command /bogus"
printf '/load %s/missing.json\n/load /etc/hostname\n' "$TMP" | chat
if grep -q "missing.json" "$TMP/err" && grep -q "hostname" "$TMP/err"; then ok load_errors; else fail load_errors "$(cat "$TMP/err")"; fi

# --no-think hides the reasoning (R1 always thinks; its text is not shown)
printf 'Hello\n' | chat -n 12 --seed 2 --no-think
if ! grep -q '<think>' "$TMP/out"; then ok no_think_hides; else fail no_think_hides "$(head -c 200 "$TMP/out")"; fi

# context: without --drop-oldest a clear message once the history is too long, and the chat goes on
long=$(seq 1 60 | tr '\n' ' ')
printf '%s\n%s\n/show\n' "$long" "$long" | chat --ctx 256 -n 40 --seed 3
if grep -q "needs [0-9]* tokens but the context has room for" "$TMP/err" && grep -q "larger --ctx" "$TMP/out"
then ok context_full_message; else fail context_full_message "$(cat "$TMP/err") $(tail -n 3 "$TMP/out")"; fi
# with --drop-oldest the oldest turns are left out and it answers
printf '%s\n%s\n%s\n' "$long" "$long" "$long" | chat --ctx 256 -n 40 --seed 3 --drop-oldest
if grep -q "oldest messages no longer fit" "$TMP/out" && ! grep -q "needs" "$TMP/err"
then ok drop_oldest; else fail drop_oldest "$(cat "$TMP/err") $(tail -n 3 "$TMP/out")"; fi

expect_error chat_no_model "no model" "$SEEK" chat
expect_error chat_bad_ctx "bad value '0' for --ctx" "$SEEK" chat -m "$M" --ctx 0
