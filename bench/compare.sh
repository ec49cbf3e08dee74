#!/bin/sh
# compare.sh MODEL.gguf... - seek bench next to a llama.cpp-family llama-bench on the same
# files, interleaved (seek, engine, seek, engine, ...) so both see the same machine load.
# Prints a Markdown table: prefill (pp) and decode (tg) tokens/s of both and seek's ratio.
#
#   P=512 N=128       prompt and generated tokens (use less while seek is slow)
#   ROUNDS=3          alternations; each engine's figure is the median over the rounds
#   THREADS=<nproc>   threads for both
#   DEPTH=D           instead: decode only, N tokens after a D-token prompt on both sides
#                     (seek bench -p D -n N against ik_llama.cpp's llama-bench -gp D,N;
#                     llama.cpp's own llama-bench calls it -d D); the bandwidth column still
#                     counts only weight bytes, not the KV cache's
#   IK=/work/ik/build/bin   where llama-bench is (built from source outside the repository)
#   SEEK=./seek
# Decode is measured as llama-bench's tg test is, from an empty cache: seek bench -p 0 -n N
# (and prefill by seek bench -p P -n 0), so neither engine's decode pays for attention over a
# prompt the other does not have (docs/bench.md). DEPTH measures that cost on both sides.
set -u
P=${P:-512} N=${N:-128} ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-$(nproc)} DEPTH=${DEPTH:-}
IK=${IK:-/work/ik/build/bin} SEEK=${SEEK:-./seek}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$IK/llama-bench" ] || { echo "compare.sh: no $IK/llama-bench" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: compare.sh MODEL.gguf..." >&2; exit 1; }

if [ -n "$DEPTH" ]; then
    echo "| model | type | seek tg$N@$DEPTH | engine tg$N@$DEPTH | seek/engine | seek decode bandwidth (of probe; of the probe just before each run; share of the packed copy in 2 MiB pages) |"
    echo "|---|---|---:|---:|---:|---:|"
else
    echo "| model | type | seek pp$P | engine pp$P | seek/engine | seek tg$N | engine tg$N | seek/engine | seek decode bandwidth (of probe; of the probe just before each run; share of the packed copy in 2 MiB pages) |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
fi
seek_bench() {   # PROMPT GEN OUT: one seek bench run, JSON appended to OUT
    "$SEEK" bench -m "$m" -p "$1" -n "$2" -r 1 --threads "$THREADS" --json >>"$3" 2>"$TMP/err" ||
        { echo "compare.sh: seek bench failed on $m: $(tail -1 "$TMP/err")" >&2; return 1; }
}
for m in "$@"; do
    : >"$TMP/seek_pp"; : >"$TMP/seek_tg"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        if [ -n "$DEPTH" ]; then
            seek_bench "$DEPTH" "$N" "$TMP/seek_tg" || break
            ik_args="-p 0 -n 0 -gp $DEPTH,$N"
        else
            if [ "$P" -gt 0 ]; then seek_bench "$P" 0 "$TMP/seek_pp" || break; fi
            if [ "$N" -gt 0 ]; then seek_bench 0 "$N" "$TMP/seek_tg" || break; fi
            ik_args="-p $P -n $N"
        fi
        "$IK/llama-bench" -m "$m" $ik_args -r 1 -t "$THREADS" -o json >"$TMP/ik.$r" 2>"$TMP/err" ||
            { echo "compare.sh: llama-bench failed on $m: $(tail -1 "$TMP/err")" >&2; break; }
        r=$((r + 1))
    done
    /usr/bin/python3 - "$m" "$TMP" "$r" "$DEPTH" <<'PY'
import json, os, statistics, sys
m, tmp, rounds, depth = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
load = lambda f: [json.loads(l) for l in open(f'{tmp}/{f}') if l.strip()]
pp, tg = load('seek_pp'), load('seek_tg')
pp_i, tg_i = [], []
for r in range(rounds):
    for t in json.load(open(f'{tmp}/ik.{r}')):
        (tg_i if t['n_gen'] > 0 else pp_i).append(t['avg_ts'])
med = lambda v: statistics.median(v) if v else float('nan')
tg_s, ti = med([s['decode_tps'] for s in tg]), med(tg_i)
typ = (tg or pp)[0]['type'] if tg or pp else '?'
frac = med([s['decode_bw_fraction'] for s in tg])
bw = med([s['mem_bw_gbs'] for s in tg])
gbs = med([s['decode_tps'] * s['bytes_per_token'] / 1e9 for s in tg])
near = [s['decode_bw_fraction_near'] for s in tg if 'decode_bw_fraction_near' in s]
near = f'; run by run {100 * med(near):.0f} %' if near else ''
# the share of the packed copy in 2 MiB pages, the least of the decode runs (docs/bench.md)
hp = [s['packed_huge_bytes'] / s['packed_bytes'] for s in tg if s.get('packed_bytes')]
hp = f'; 2 MiB pages {100 * min(hp):.0f} %' if hp else ''
bwcol = f'{gbs:.1f} GB/s of {bw:.1f} ({100 * frac:.0f} %{near}{hp})'
name = os.path.basename(m)
if depth:
    print(f'| {name} | {typ} | {tg_s:.3f} | {ti:.2f} | {tg_s / ti:.3f} | {bwcol} |')
else:
    pp_s, pi = med([s['prefill_tps'] for s in pp]), med(pp_i)
    print(f'| {name} | {typ} | {pp_s:.2f} | {pi:.2f} | {pp_s / pi:.3f} | {tg_s:.3f} | {ti:.2f} | {tg_s / ti:.3f} | {bwcol} |')
PY
done
