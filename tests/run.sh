#!/bin/sh
# Run every test program (build/tests/test_*) and every CLI test (tests/cli/test_*.sh),
# then print "N passed, N failed". Exit status is non-zero if anything failed.
BUILD=${BUILD:-build}
SEEK=${SEEK:-$BUILD/seek}
export SEEK BUILD
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(ok|FAIL) ' >>"$log"
    printf '%s\n' "$out" | grep -E '^FAIL ' || true
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
        echo "FAIL $t: exited with status $rc" | tee -a "$log"
        printf '%s\n' "$out" | tail -n 20
    fi
done
for t in tests/cli/test_*.sh; do
    [ -f "$t" ] || continue
    out=$(sh "$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(ok|FAIL) ' >>"$log"
    printf '%s\n' "$out" | grep -E '^FAIL ' || true
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
        echo "FAIL $t: exited with status $rc" | tee -a "$log"
        printf '%s\n' "$out" | tail -n 20
    fi
done
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^FAIL ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
