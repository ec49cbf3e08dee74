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
        'kv_bytes_per_token', 'load_s']
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
expect_out text_load '^load: +[0-9]+\.[0-9][0-9] s  \(file mapped'
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

# MoE: before the runs, every weight byte a decode step may read is read once (the warm-up's
# few tokens reach only some experts): the file's tensors but attn_kv_b, plus MLA's prepared
# kb/vb (F16 here), computed from the file's header; with a packed copy, at least that copy
# (run under SEEK_CPU=avx2 too: no packed Q8_0 there).
# A dense model needs none (its warm-up step reads every weight).
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 256 --ff 64 --ff-exp 32 --experts 8 --heads 2 \
    -o "$TMP/moe.gguf" --quiet || fail setup "synth moe"
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 256 --ff 64 --ff-exp 32 --experts 8 --heads 2 \
    --type Q8_0 -o "$TMP/moe8.gguf" --quiet || fail setup "synth moe q8_0"
warm_check() {   # NAME FILE.gguf WANT (exact | packed | zero)
    r=$(/usr/bin/python3 - "$TMP/out" "$2" "$3" <<'PY'
import json, struct, sys
j = json.loads(open(sys.argv[1]).read())
got, want = j.get('warmup_read_bytes'), sys.argv[3]
f = open(sys.argv[2], 'rb').read()
o = 4 + 4
nt, nkv = struct.unpack_from('<QQ', f, o); o += 16
def s():
    global o
    n, = struct.unpack_from('<Q', f, o); o += 8 + n
    return f[o - n:o].decode()
SZ = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
def val(t):
    global o
    if t == 8: return s()
    if t == 9:
        et, n = struct.unpack_from('<IQ', f, o); o += 12
        return [val(et) for _ in range(n)]
    v = struct.unpack_from({1: '<B', 2: '<H', 4: '<I', 8: '<Q'}[SZ[t]], f, o)[0]; o += SZ[t]
    return v
kv = {}
for _ in range(nkv):
    k = s(); t, = struct.unpack_from('<I', f, o); o += 4
    kv[k] = val(t)
total = kvb = 0
kvb_f32, kvb_q8 = False, True
for _ in range(nt):
    name = s(); nd, = struct.unpack_from('<I', f, o); o += 4
    dims = struct.unpack_from('<%dQ' % nd, f, o); o += 8 * nd
    t, = struct.unpack_from('<I', f, o); o += 12
    n = 1
    for d in dims: n *= d
    b = {0: 4 * n, 1: 2 * n, 8: n // 32 * 34}[t]
    total += b
    if name.endswith('attn_kv_b.weight'): kvb += b; kvb_f32 = t == 0; kvb_q8 = kvb_q8 and t == 8
a, exact = 'deepseek2.', total
if a + 'block_count' in kv:
    L, H, R = kv[a + 'block_count'], kv[a + 'attention.head_count'], kv[a + 'attention.kv_lora_rank']
    nope = kv[a + 'attention.key_length'] - kv[a + 'rope.dimension_count']
    # MLA's copies: the file's rows when every kv_b is Q8_0, else F32 (F32 files) or F16
    rows = L * H * (nope + kv[a + 'attention.value_length'])
    exact = total - kvb + (rows * R // 32 * 34 if kvb_q8 else rows * R * (4 if kvb_f32 else 2))
p = j.get('packed_bytes', 0)
ok = isinstance(got, (int, float))
# (no packed copy of Q8_0 below AVX-512: then every byte is read from the file)
ok = ok and {'exact': got == exact, 'zero': got == 0, 'packed': got == exact if p == 0 else p <= got <= exact + p}[want]
print('ok' if ok else 'bad: warmup_read_bytes %r, want %s (all but kv_b + MLA %d, packed_bytes %r)' % (got, want, exact, j.get('packed_bytes')))
PY
)
    [ "$r" = ok ] && ok "$1" || fail "$1" "$r"
}
expect_ok warm_moe env SEEK_REPACK=0 "$SEEK" bench -m "$TMP/moe.gguf" -p 2 -n 2 -r 1 --json
warm_check warm_moe_bytes "$TMP/moe.gguf" exact
expect_ok warm_moe8 "$SEEK" bench -m "$TMP/moe8.gguf" -p 2 -n 2 -r 1 --json
warm_check warm_moe8_bytes "$TMP/moe8.gguf" packed
expect_ok warm_moe8_avx2 env SEEK_CPU=avx2 "$SEEK" bench -m "$TMP/moe8.gguf" -p 2 -n 2 -r 1 --json
warm_check warm_moe8_avx2_bytes "$TMP/moe8.gguf" packed
expect_ok warm_moe_text "$SEEK" bench -m "$TMP/moe.gguf" -p 2 -n 1 -r 1
expect_out warm_moe_text_line '^warm-up: +[0-9.]+ [KMG]iB of weights read once before the runs'
"$SEEK" synth --shape r1-distill-qwen-1.5b --layers 2 --vocab 512 --ff 512 -o "$TMP/dense.gguf" --quiet ||
    fail setup "synth dense"
expect_ok warm_dense "$SEEK" bench -m "$TMP/dense.gguf" -p 2 -n 2 -r 1 --json
warm_check warm_dense_bytes "$TMP/dense.gguf" zero

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
