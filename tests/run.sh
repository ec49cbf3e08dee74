#!/bin/sh
# Run every test program (build/tests/test_*) and every CLI test (tests/cli/test_*.sh),
# then print "N passed, N failed". Exit status is non-zero if anything failed.
BUILD=${BUILD:-build}
SEEK=${SEEK:-$BUILD/seek}
export SEEK BUILD
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# run_one NAME CMD...: keep CMD's "ok"/"FAIL" lines; a non-zero exit without a FAIL line
# (a crash, a failed setup) counts as a failure of NAME
run_one() {
    t=$1; shift
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(ok|FAIL) ' >>"$log"
    printf '%s\n' "$out" | grep -E '^FAIL ' || true
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
        echo "FAIL $t: exited with status $rc" | tee -a "$log"
        printf '%s\n' "$out" | tail -n 20
    fi
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    run_one "$t" "$t"
done
for t in tests/cli/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "$t" sh "$t"
done
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^FAIL ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
