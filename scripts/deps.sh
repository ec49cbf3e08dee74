#!/bin/sh
# Check for the Debian packages seek builds against (and those its tests use:
# numpy, tmux); install the missing ones (as root with apt-get) so that `make`
# and `make test` work on a fresh Debian 12 machine.
set -e
need=""
pkg-config --exists jansson 2>/dev/null || need="$need libjansson-dev"
pkg-config --exists libpcre2-8 2>/dev/null || need="$need libpcre2-dev"
pkg-config --exists libedit 2>/dev/null || need="$need libedit-dev"
pkg-config --exists libmicrohttpd 2>/dev/null || need="$need libmicrohttpd-dev"
command -v xxd >/dev/null 2>&1 || need="$need xxd"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
# the tests compare against NumPy references computed by Debian's python3
/usr/bin/python3 -c "import numpy" 2>/dev/null || need="$need python3-numpy"
# the tokenizer trainer is checked against a Python BPE reference that needs \p{..} regexes
/usr/bin/python3 -c "import regex" 2>/dev/null || need="$need python3-regex"
# `seek chat` is tested in a real terminal: a tmux session
command -v tmux >/dev/null 2>&1 || need="$need tmux"
# `seek serve` is tested with npm packages (the openai client, playwright-core) and its
# web page in a headless browser
command -v npm >/dev/null 2>&1 || need="$need nodejs npm"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
[ -z "$need" ] && exit 0
echo "seek: missing build dependencies:$need"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "seek: installing them with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
else
    echo "seek: please run: sudo apt-get install$need" >&2
    exit 1
fi
