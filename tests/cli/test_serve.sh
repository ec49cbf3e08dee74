#!/bin/sh
# `seek serve` end to end: a real server on a free loopback port, driven by the
# official openai npm client (tests/server/test_serve.mjs) and by raw sockets for
# malformed input; then the web page in headless Chromium (tests/server/test_ui.mjs).
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
CHAT_MODEL=${CHAT_MODEL:-$BUILD/tests/chat-model.gguf}
NPM_DIR=$(cd "$BUILD" && pwd)/npm
if ! command -v node >/dev/null 2>&1; then fail setup "node is not installed"; exit 0; fi
if ! sh tests/server/npm.sh "$NPM_DIR" 2>"$TMP/npm"; then fail setup "$(cat "$TMP/npm")"; exit 0; fi
export SEEK CHAT_MODEL NPM_DIR
TEST_NAME=test_serve timeout 300 node tests/server/test_serve.mjs || [ $? -eq 1 ] || fail run "test_serve.mjs crashed or timed out"
if [ -f tests/server/test_ui.mjs ]; then
    TEST_NAME=test_serve_ui timeout 120 node tests/server/test_ui.mjs || [ $? -eq 1 ] || fail ui "test_ui.mjs crashed or timed out"
fi
