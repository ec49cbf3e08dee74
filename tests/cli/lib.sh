# lib.sh - helpers for CLI tests (sourced). Each check prints "ok NAME" or "FAIL NAME: why".
SEEK=${SEEK:-build/seek}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
T=$(basename "$0" .sh)

ok()   { echo "ok $T:$1"; }
fail() { echo "FAIL $T:$1: $2"; }

# expect_ok NAME CMD...           command exits 0
expect_ok() {
    name=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then ok "$name"
    else fail "$name" "exit $? : $(head -c 300 "$TMP/err")"; fi
}

# expect_error NAME PATTERN CMD...  command exits non-zero (not a crash) with one
# "seek: ..." line on stderr matching PATTERN (grep -E)
expect_error() {
    name=$1; pat=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    if [ $rc -eq 0 ]; then fail "$name" "succeeded, expected an error"; return; fi
    if [ $rc -ge 128 ]; then fail "$name" "crashed (status $rc): $(head -c 300 "$TMP/err")"; return; fi
    if ! grep -qE "^seek: " "$TMP/err"; then fail "$name" "no 'seek: ' message: $(head -c 300 "$TMP/err")"; return; fi
    if ! grep -qE -- "$pat" "$TMP/err"; then fail "$name" "message '$(head -c 300 "$TMP/err")' does not match '$pat'"; return; fi
    ok "$name"
}

# expect_interrupted NAME OUT CMD...   CMD, writing OUT, killed with SIGTERM once its
# temporary file OUT.tmp-* exists, leaves neither OUT nor the temporary file
expect_interrupted() {
    name=$1; out=$2; shift 2
    "$@" 2>"$TMP/err" &
    pid=$!
    for i in 1 2 3 4 5 6 7 8 9 10; do ls "$out".tmp-* >/dev/null 2>&1 && break; sleep 0.2; done
    sleep 0.3
    kill -TERM $pid 2>/dev/null
    wait $pid; rc=$?
    if [ $rc -eq 0 ]; then fail "$name" "finished before it was killed (make the input bigger)"
    elif [ -e "$out" ] || ls "$out".tmp-* >/dev/null 2>&1; then fail "$name" "left $(ls "$out"*)"
    else ok "$name"; fi
}

# expect_out NAME PATTERN   last command's stdout ($TMP/out) matches PATTERN
expect_out() {
    if grep -qE -- "$2" "$TMP/out"; then ok "$1"; else fail "$1" "output lacks '$2'"; fi
}

# run_ok NAME OUT CMD...   run CMD with stdout to OUT and stderr to OUT.err; if it exits
# non-zero, report "FAIL NAME" and return 1 (so two runs that fail the same way never
# compare equal)
run_ok() {
    name=$1; out=$2; shift 2
    "$@" >"$out" 2>"$out.err"; rc=$?
    if [ $rc -ne 0 ]; then fail "$name" "exit $rc: $(head -c 300 "$out.err")"; return 1; fi
    return 0
}

# same NAME A B   files A and B are non-empty and identical
same() {
    if [ -s "$2" ] && cmp -s "$2" "$3"; then ok "$1"; else fail "$1" "$(head -c 200 "$2") | $(head -c 200 "$3")"; fi
}

# differ NAME A B   files A and B are non-empty and different
differ() {
    if [ -s "$2" ] && [ -s "$3" ] && ! cmp -s "$2" "$3"; then ok "$1"; else fail "$1" "identical or empty: $(head -c 200 "$2")"; fi
}
