#!/bin/sh
# soak.sh MODEL.gguf [MINUTES] [CLIENTS] - keep `seek serve` busy with CLIENTS
# streaming clients (default 16) for MINUTES (default 10), cancelling about a
# third of the requests at a random moment; check that every finished response
# is well formed, the server never dies, and its resident memory stops growing
# once warmed up (RSS sampled each 10 s; the last sample may exceed the one taken
# half-way through the run, at least 1 minute in, by at most 5%: malloc's per-thread arenas
# and the KV caches' pages, touched as positions are first used, grow early on;
# CTX=256 fills the caches quickly).
# Loopback only. Prints a summary; exit status 0 when everything held.
set -eu
MODEL=${1:?usage: bench/soak.sh MODEL.gguf [MINUTES] [CLIENTS]}
MIN=${2:-10}
CLIENTS=${3:-16}
SEEK=${SEEK:-build/seek}
LOG=$(mktemp)
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
# CTX (optional): a small context per slot fills the KV caches early, so that their
# pages, touched as positions are first used, do not read as growth later
"$SEEK" serve -m "$MODEL" --port 0 --parallel "$CLIENTS" --queue 256 ${CTX:+--ctx $CTX} -q 2>"$LOG" &
PID=$!
for i in $(seq 100); do grep -q "ready in" "$LOG" && break; sleep 0.2; done
PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$LOG")
[ -n "$PORT" ] || { echo "seek: soak: the server did not start: $(cat "$LOG")" >&2; exit 1; }
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
node - "$PORT" "$MIN" "$CLIENTS" "$PID" <<'JS'
const [port, minutes, clients, pid] = process.argv.slice(2).map(Number);
const fs = require("fs");
const url = `http://127.0.0.1:${port}/v1/chat/completions`;
const end = Date.now() + minutes * 60000;
let ok = 0, cancelled = 0, bad = 0, errors = 0;
const rss = () => +fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1];
const samples = [];
const timer = setInterval(() => samples.push([Date.now(), rss()]), 10000);
async function client(id) {
    while (Date.now() < end) {
        const ac = new AbortController();
        const cancel = Math.random() < 0.33;
        if (cancel) setTimeout(() => ac.abort(), Math.random() * 2000);
        try {
            const res = await fetch(url, { method: "POST", signal: ac.signal, headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ messages: [{ role: "user", content: `client ${id} ${Math.random()}` }],
                    max_tokens: 16 + Math.floor(Math.random() * 200), temperature: 0.8, stream: true }) });
            const text = await res.text();
            const events = text.split("\n\n").filter((e) => e);
            if (res.status !== 200 || events[events.length - 1] !== "data: [DONE]" ||
                !events.slice(0, -1).every((e) => { try { return JSON.parse(e.slice(6)).choices.length === 1; } catch { return false; } })) bad++;
            else ok++;
        } catch (e) { if (e.name === "AbortError") cancelled++; else errors++; }
    }
}
(async () => {
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
    clearInterval(timer);
    samples.push([Date.now(), rss()]);
    const warm = Math.max(50000, minutes * 60000 * 0.5 - 10000);
    const base = samples.find(([t]) => t >= samples[0][0] + warm) || samples[0];
    const last = samples[samples.length - 1];
    const growth = (last[1] - base[1]) / base[1];
    console.log("RSS kB every 10 s: " + samples.map((s) => s[1]).join(" "));
    console.log(`soak: ${ok} complete, ${cancelled} cancelled, ${bad} malformed, ${errors} errors; RSS ${base[1]} kB after warm-up -> ${last[1]} kB at the end (${(growth * 100).toFixed(1)}%)`);
    process.exit(bad || errors || growth > 0.05 ? 1 : 0);
})();
JS
kill -0 $PID || { echo "seek: soak: the server died" >&2; exit 1; }
kill -TERM $PID; wait $PID
