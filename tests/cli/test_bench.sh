#!/bin/sh
# seek bench: --json is one valid JSON object with every documented key, all figures > 0;
# the text report; bad input.
. "$(dirname "$0")/lib.sh"
CHAT_MODEL=${CHAT_MODEL:-build/tests/chat-model.gguf}

expect_ok json "$SEEK" bench -m "$CHAT_MODEL" -p 16 -n 8 -r 3 --threads 2 --json
r=$(/usr/bin/python3 - "$TMP/out" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().strip().split('\n')
if len(lines) != 1: print('expected one line, got %d' % len(lines)); sys.exit()
j = json.loads(lines[0])
keys = ['model', 'type', 'threads', 'prefill_tps', 'decode_tps', 'prefill_spread', 'decode_spread', 'mem_bw_gbs',
        'mem_bw_before_gbs', 'mem_bw_after_gbs', 'bytes_per_token', 'decode_bw_fraction', 'prefill_gflops',
        'kv_bytes_per_token']
bad = [k for k in keys if k not in j]
bad += [k for k in keys[2:] if k in j and not (isinstance(j[k], (int, float)) and j[k] > 0)]
# the probe is taken before the model and after it; the ceiling is the better of the two
if not bad and j['mem_bw_gbs'] != max(j['mem_bw_before_gbs'], j['mem_bw_after_gbs']): bad.append('mem_bw_gbs not the max')
if j.get('model') != 'chat-model.gguf' or j.get('type') != 'Q8_0' or j.get('threads') != 2: bad.append('model/type/threads')
# the probe before each decode run, where MemAvailable holds its 1 GiB + 1 GiB (required here
# with a margin: with 3 GiB available when this checks)
avail = [int(l.split()[1]) for l in open('/proc/meminfo') if l.startswith('MemAvailable:')]
near = ['mem_bw_near_gbs', 'decode_bw_fraction_near', 'decode_bw_fraction_near_spread']
if avail and avail[0] >= 3 << 20 and not all(k in j for k in near): bad.append('no near-probe keys')
if 'mem_bw_near_gbs' in j:
    bad += [k for k in near[:2] if not (isinstance(j.get(k), (int, float)) and j[k] > 0)]
    bad += [k for k in near[2:] if not (isinstance(j.get(k), (int, float)) and j[k] >= 0)]
print('ok' if not bad else 'bad: ' + ', '.join(map(str, bad)) + ' in ' + lines[0])
PY
)
[ "$r" = ok ] && ok json_keys || fail json_keys "$r"

# the packed copy and how much of it the kernel backs with 2 MiB pages: none when asked
# for none (SEEK_HUGEPAGES=0), no copy without repacking (SEEK_REPACK=0)
packed_keys() {   # NAME WANT (any | no_huge | none)
    r=$(/usr/bin/python3 - "$TMP/out" "$2" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read())
p, h, want = j.get('packed_bytes'), j.get('packed_huge_bytes'), sys.argv[2]
ok = isinstance(p, int) and isinstance(h, int) and 0 <= h <= p
ok = ok and (want != 'no_huge' or h == 0) and (want != 'none' or p == 0)
print('ok' if ok else 'bad: packed_bytes %r packed_huge_bytes %r (want %s)' % (p, h, want))
PY
)
    [ "$r" = ok ] && ok "$1" || fail "$1" "$r"
}
expect_ok packed_json "$SEEK" bench -m "$CHAT_MODEL" -p 4 -n 2 -r 1 --json
packed_keys packed_json_keys any
expect_ok packed_json_4k env SEEK_HUGEPAGES=0 "$SEEK" bench -m "$CHAT_MODEL" -p 4 -n 2 -r 1 --json
# (where THP is "always", the kernel may use huge pages for any memory: then only the bounds)
case "$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)" in
*"[always]"*) packed_keys packed_json_4k_keys any ;;
*) packed_keys packed_json_4k_keys no_huge ;;
esac
expect_ok packed_json_none env SEEK_REPACK=0 "$SEEK" bench -m "$CHAT_MODEL" -p 4 -n 2 -r 1 --json
packed_keys packed_json_none_keys none

expect_ok text "$SEEK" bench -m "$CHAT_MODEL" -p 8 -n 4 -r 1
expect_out text_prefill '^prefill: +[0-9.]+ '
expect_out text_decode '^decode: +[0-9.]+ '
expect_out text_bw '^memory read: +[0-9.]+ GB/s .*the better of [0-9.]+ before the model and [0-9.]+ after'
if [ "$(awk '/^MemAvailable:/ { print ($2 >= 3 * 1024 * 1024) }' /proc/meminfo)" = 1 ]; then
    expect_out text_near '^run by run: +decode reached [0-9.]+% \+/- [0-9.]+ of a probe taken just before each run \([0-9.]+ GB/s median\)$'
fi
if "$SEEK" info "$CHAT_MODEL" | grep -q "repacked at load"; then   # a packed form at this CPU's level
    expect_out text_packed '^packed: +[0-9.]+ [KMG]iB repacked at load, [0-9]+% of it in 2 MiB pages$'
fi
# no decode, no probe before it
expect_ok text_no_decode "$SEEK" bench -m "$CHAT_MODEL" -p 8 -n 0 -r 1
if grep -q '^run by run:' "$TMP/out"; then fail text_no_decode_near "a per-run probe without decode runs"; else ok text_no_decode_near; fi
expect_ok json_no_decode "$SEEK" bench -m "$CHAT_MODEL" -p 8 -n 0 -r 1 --json
if grep -q '_near' "$TMP/out"; then fail json_no_decode_near "near-probe keys without decode runs"; else ok json_no_decode_near; fi

# --parallel N: N streams decoded together, reported next to the single stream
expect_ok parallel_json "$SEEK" bench -m "$CHAT_MODEL" -p 8 -n 4 -r 2 --threads 2 --parallel 3 --json
r=$(/usr/bin/python3 - "$TMP/out" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read())
ok = j.get('parallel') == 3 and all(isinstance(j.get(k), (int, float)) and j[k] > 0 for k in ('parallel_tps', 'parallel_ratio'))
ok = ok and 'parallel_spread' in j and 'parallel_ratio_spread' in j
print('ok' if ok else 'bad: ' + json.dumps(j))
PY
)
[ "$r" = ok ] && ok parallel_json_keys || fail parallel_json_keys "$r"
expect_ok parallel_text "$SEEK" bench -m "$CHAT_MODEL" -p 4 -n 2 -r 1 --parallel 2
expect_out parallel_text_line '^parallel: +[0-9.]+ .*2 streams together, aggregate; [0-9.]+ '
expect_error parallel_zero "--parallel: 0 is out of range \\(1\\.\\.256\\)" "$SEEK" bench -m "$CHAT_MODEL" --parallel 0
expect_error parallel_text_value "--parallel: 'x' is not an integer" "$SEEK" bench -m "$CHAT_MODEL" --parallel x
expect_error parallel_no_decode "--parallel needs -n >= 1" "$SEEK" bench -m "$CHAT_MODEL" -n 0 --parallel 2

expect_error no_model "need -m MODEL" "$SEEK" bench -p 8
# numbers are strict (tools/cli_args.c), as in every command
expect_error bad_p "^seek: bench: -p: 'x' is not an integer$" "$SEEK" bench -m "$CHAT_MODEL" -p x
expect_error bad_r "^seek: bench: -r: 0 is out of range \(1\.\.1048576\)$" "$SEEK" bench -m "$CHAT_MODEL" -r 0
expect_error bad_threads "^seek: bench: --threads: '4.5' is not an integer$" "$SEEK" bench -m "$CHAT_MODEL" --threads 4.5
expect_error not_model "nope.gguf" "$SEEK" bench -m "$TMP/nope.gguf"
