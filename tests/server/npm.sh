#!/bin/sh
# npm.sh DIR - make sure the npm packages the server tests use (the official
# `openai` client, `playwright-core` for the web page) are installed in DIR
# (build/npm: outside the sources, removed by `make clean`).
set -e
dir=$1
mkdir -p "$dir"
if [ ! -d "$dir/node_modules/openai" ] || [ ! -d "$dir/node_modules/playwright-core" ]; then
    [ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
    (cd "$dir" && npm install --silent --no-audit --no-fund openai@6 playwright-core@1 >/dev/null 2>&1) ||
        { echo "npm install openai playwright-core failed (is the npm registry reachable?)" >&2; exit 1; }
fi
