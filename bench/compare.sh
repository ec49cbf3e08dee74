#!/bin/sh
# compare.sh MODEL.gguf... - seek bench next to a llama.cpp-family llama-bench on the same
# files, interleaved (seek, engine, seek, engine, ...) so both see the same machine load.
# Prints a Markdown table: prefill (pp) and decode (tg) tokens/s of both and seek's ratio.
#
#   P=512 N=128       prompt and generated tokens (use less while seek is slow)
#   ROUNDS=3          alternations; each engine's figure is the median over the rounds
#   THREADS=<nproc>   threads for both
#   IK=/work/ik/build/bin   where llama-bench is (built from source outside the repository)
#   SEEK=./seek
# Decode: seek's tg runs after the p-token prompt, llama-bench's from an empty cache
# (docs/bench.md); with small P the difference is negligible.
set -u
P=${P:-512} N=${N:-128} ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-$(nproc)}
IK=${IK:-/work/ik/build/bin} SEEK=${SEEK:-./seek}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$IK/llama-bench" ] || { echo "compare.sh: no $IK/llama-bench" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: compare.sh MODEL.gguf..." >&2; exit 1; }

echo "| model | type | seek pp$P | engine pp$P | seek/engine | seek tg$N | engine tg$N | seek/engine | seek decode bandwidth (of probe; of the probe just before each run) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for m in "$@"; do
    : >"$TMP/seek"; : >"$TMP/ik"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        "$SEEK" bench -m "$m" -p "$P" -n "$N" -r 1 --threads "$THREADS" --json >>"$TMP/seek" 2>"$TMP/err" ||
            { echo "compare.sh: seek bench failed on $m: $(tail -1 "$TMP/err")" >&2; break; }
        "$IK/llama-bench" -m "$m" -p "$P" -n "$N" -r 1 -t "$THREADS" -o json >"$TMP/ik.$r" 2>"$TMP/err" ||
            { echo "compare.sh: llama-bench failed on $m: $(tail -1 "$TMP/err")" >&2; break; }
        r=$((r + 1))
    done
    /usr/bin/python3 - "$m" "$TMP" "$r" <<'PY'
import json, os, statistics, sys
m, tmp, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
seek = [json.loads(l) for l in open(tmp + '/seek') if l.strip()]
pp_i, tg_i = [], []
for r in range(rounds):
    for t in json.load(open(f'{tmp}/ik.{r}')):
        (pp_i if t['n_gen'] == 0 else tg_i).append(t['avg_ts'])
med = lambda v: statistics.median(v) if v else float('nan')
pp_s, tg_s = med([s['prefill_tps'] for s in seek]), med([s['decode_tps'] for s in seek])
pi, ti = med(pp_i), med(tg_i)
typ = seek[0]['type'] if seek else '?'
frac = med([s['decode_bw_fraction'] for s in seek])
bw = med([s['mem_bw_gbs'] for s in seek])
gbs = med([s['decode_tps'] * s['bytes_per_token'] / 1e9 for s in seek])
near = [s['decode_bw_fraction_near'] for s in seek if 'decode_bw_fraction_near' in s]
near = f'; run by run {100 * med(near):.0f} %' if near else ''
print(f'| {os.path.basename(m)} | {typ} | {pp_s:.2f} | {pi:.2f} | {pp_s / pi:.3f} | {tg_s:.3f} | {ti:.2f} | {tg_s / ti:.3f} | {gbs:.1f} GB/s of {bw:.1f} ({100 * frac:.0f} %{near}) |')
PY
done
