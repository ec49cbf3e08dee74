#!/bin/sh
# Run each libFuzzer harness for SECONDS over a scratch copy of its seed corpus
# (tests/fuzz/seeds/<name>/ plus the regression inputs), with
# tests/fuzz/<name>.dict when there is one. A crash leaves its input in
# build-fuzz/crash-<name>-* and makes this script fail; add such inputs to
# tests/data/fuzz-regress/<name>/ so test_fuzz_regress keeps them fixed.
SECONDS_EACH=${1:-30}
status=0
for name in gguf safetensors model hfconfig tokenizer chat; do
    bin=build-fuzz/fuzz_$name
    corpus=build-fuzz/corpus-$name
    mkdir -p "$corpus"
    cp tests/fuzz/seeds/$name/* tests/data/fuzz-regress/$name/* "$corpus"/ 2>/dev/null
    dict=
    [ -f tests/fuzz/$name.dict ] && dict=-dict=tests/fuzz/$name.dict
    echo "fuzzing $name for ${SECONDS_EACH}s"
    if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 $dict \
            -artifact_prefix=build-fuzz/crash-$name- "$corpus" >build-fuzz/$name.log 2>&1; then
        echo "fuzz_$name FAILED; see build-fuzz/$name.log"
        tail -n 30 build-fuzz/$name.log
        status=1
    else
        grep -E '^#[0-9]+.*(DONE|pulse)' build-fuzz/$name.log | tail -n 1
    fi
done
exit $status
