#!/usr/bin/env node
// load.mjs - a small load generator for `seek serve` (loopback only, bounded).
//
//   node bench/load.mjs [--url http://127.0.0.1:8080] [--clients 1,4,16] [--requests 32]
//                       [--max-tokens 64] [--key KEY] [--json]
//
// For each client count C: C clients each send streamed greedy chat requests
// back to back until `--requests` have been answered in all. Reports the aggregate
// generated tokens/s (completion tokens from the usage chunk / wall time) and the
// p50/p99 time to first token (first reasoning or content delta). Refuses any
// host but 127.0.0.1 / localhost / ::1: this is a local benchmark, not a load tool.
const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => {
    if (x.startsWith("--")) a.push([x.slice(2), all[i + 1] && !all[i + 1].startsWith("--") ? all[i + 1] : true]);
    return a;
}, []));
const url = new URL(args.url || "http://127.0.0.1:8080");
if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) { console.error("seek: load: loopback only (got " + url.hostname + ")"); process.exit(2); }
const clients = String(args.clients || "1,4,16").split(",").map(Number).filter((n) => n >= 1 && n <= 256);
const total = Math.min(+(args.requests || 32), 10000), maxTokens = Math.min(+(args["max-tokens"] || 64), 4096);
const headers = { "Content-Type": "application/json", ...(args.key ? { Authorization: "Bearer " + args.key } : {}) };

async function one(i) {
    const t0 = performance.now();
    const res = await fetch(new URL("/v1/chat/completions", url), { method: "POST", headers, body: JSON.stringify({
        messages: [{ role: "user", content: `Request ${i}: tell me about the number ${i}.` }],
        max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }) });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const dec = new TextDecoder();
    let buf = "", ttft = 0, tokens = 0;
    for await (const part of res.body) {
        buf += dec.decode(part, { stream: true });
        let k;
        while ((k = buf.indexOf("\n\n")) >= 0) {
            const line = buf.slice(0, k);
            buf = buf.slice(k + 2);
            if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
            const ch = JSON.parse(line.slice(6));
            if (ch.usage) tokens = ch.usage.completion_tokens;
            const d = ch.choices?.[0]?.delta;
            if (!ttft && d && (d.content || d.reasoning_content)) ttft = performance.now() - t0;
        }
    }
    return { ttft, tokens };
}

const pct = (a, p) => a.length ? a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p / 100 * a.length))] : 0;
const results = [];
for (const c of clients) {
    let next = 0, tokens = 0;
    const ttfts = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: c }, async () => {
        while (next < total) {
            const r = await one(next++);
            tokens += r.tokens;
            ttfts.push(r.ttft);
        }
    }));
    const secs = (performance.now() - t0) / 1000;
    const r = { clients: c, requests: total, tokens, seconds: +secs.toFixed(2), tokens_per_s: +(tokens / secs).toFixed(1),
        ttft_p50_ms: +pct(ttfts, 50).toFixed(1), ttft_p99_ms: +pct(ttfts, 99).toFixed(1) };
    results.push(r);
    if (!args.json) console.log(`clients ${String(c).padStart(3)}: ${r.tokens_per_s} tok/s aggregate, TTFT p50 ${r.ttft_p50_ms} ms, p99 ${r.ttft_p99_ms} ms (${total} requests, ${tokens} tokens, ${r.seconds} s)`);
}
if (args.json) console.log(JSON.stringify(results, null, 1));
