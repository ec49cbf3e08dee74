#!/bin/sh
# page_choice.sh MODEL.gguf [FILL...] - load time, 2 MiB page share and decode of seek bench
# with the page cache full, under each page choice: the default rule (util.c seek_alloc_fresh),
# SEEK_HUGEPAGES=1 (always 2 MiB pages) and SEEK_HUGEPAGES=0 (always 4 KiB), alternated
# ROUNDS times. The FILL files (other models) are read into the page cache before every run,
# as after a benchmark series. docs/kernels-history.md, "Huge pages, measured".
#   ROUNDS=2 N=64 SEEK=./seek CHOICES="default 1 0"
set -u
ROUNDS=${ROUNDS:-2} N=${N:-64} SEEK=${SEEK:-./seek} CHOICES=${CHOICES:-"default 1 0"}
[ $# -ge 1 ] || { echo "usage: page_choice.sh MODEL.gguf [FILL...]" >&2; exit 1; }
m=$1; shift
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
r=0
while [ $r -lt "$ROUNDS" ]; do
    for c in $CHOICES; do
        for f in "$@"; do cat "$f" >/dev/null; done
        s0=$(awk '/^compact_stall/{print $2}' /proc/vmstat)
        fr=$(free -m | awk '/^Mem/{print $4 " free, " $6 " cache"}')
        if [ "$c" = default ]; then env -u SEEK_HUGEPAGES "$SEEK" bench -m "$m" -p 0 -n "$N" -r 1 --json >"$TMP/j" 2>"$TMP/err"
        else SEEK_HUGEPAGES=$c "$SEEK" bench -m "$m" -p 0 -n "$N" -r 1 --json >"$TMP/j" 2>"$TMP/err"; fi ||
            { echo "page_choice.sh: seek bench failed: $(tail -1 "$TMP/err")" >&2; exit 1; }
        s1=$(awk '/^compact_stall/{print $2}' /proc/vmstat)
        /usr/bin/python3 - "$c" "$fr" $((s1 - s0)) "$TMP/j" <<'PY'
import json, sys
c, fr, stall, path = sys.argv[1:5]
j = json.loads(open(path).read().strip().splitlines()[-1])
huge = 100 * j['packed_huge_bytes'] / max(1, j['packed_bytes'])
print(f"SEEK_HUGEPAGES={c:8s} MiB {fr:24s} compact_stall +{stall:6s} load {j['load_s']:6.1f} s  "
      f"2 MiB pages {huge:5.1f} %  decode {j['decode_tps']:6.2f} tok/s  probe {j['mem_bw_gbs']:5.1f} GB/s "
      f"({100 * j['decode_bw_fraction']:.1f} %)")
PY
    done
    r=$((r + 1))
done
