// lib.mjs - helpers for the `seek serve` tests: start a real server on a free
// loopback port, raw HTTP, and the "ok NAME" / "FAIL NAME: why" reporting of tests/run.sh.
import { spawn, execFileSync } from "node:child_process";
import net from "node:net";

export const SEEK = process.env.SEEK || "build/seek";
export const MODEL = process.env.CHAT_MODEL || "build/tests/chat-model.gguf";
const T = process.env.TEST_NAME || "test_serve";
let failures = 0;

export function ok(name) { console.log(`ok ${T}:${name}`); }
export function fail(name, why) { failures++; console.log(`FAIL ${T}:${name}: ${String(why).slice(0, 400)}`); }
export async function check(name, fn) {
    try {
        const r = await fn();
        if (r === false) fail(name, "check failed"); else ok(name);
    } catch (e) { fail(name, e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e); }
}
export function assert(c, msg) { if (!c) throw new Error(msg); }
export function failed() { return failures; }

// Start `seek serve` on port 0 (the kernel picks a free port; the server prints it).
export function startServer(args = [], env = {}, waitReady = true) {
    return new Promise((resolve, reject) => {
        const p = spawn(SEEK, ["serve", "-m", MODEL, "--port", "0", ...args],
            { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
        let err = "", done = false;
        const timer = setTimeout(() => { if (!done) { done = true; p.kill("SIGKILL"); reject(new Error("server did not start: " + err)); } }, 20000);
        p.stderr.on("data", (d) => {
            err += d;
            const m = err.match(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
            if (!done && m && (!waitReady || /ready in/.test(err))) {
                done = true;
                clearTimeout(timer);
                resolve({ proc: p, port: +m[1], url: `http://127.0.0.1:${m[1]}`, log: () => err });
            }
        });
        p.on("exit", (code) => { if (!done) { done = true; clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); } });
    });
}

export function stopServer(s, signal = "SIGTERM") {
    return new Promise((resolve) => {
        if (s.proc.exitCode !== null) return resolve(s.proc.exitCode);
        const t = setTimeout(() => { s.proc.kill("SIGKILL"); }, 10000);
        s.proc.on("exit", (code, sig) => { clearTimeout(t); resolve(sig ? sig : code); });
        s.proc.kill(signal);
    });
}

// One raw HTTP exchange over a socket: `chunks` are written (with delays), the
// whole reply is read until the server closes or `until` matches. Returns
// {status, head, body, raw}.
export function raw(port, chunks, { delay = 0, timeout = 15000, until = null } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, "127.0.0.1");
        let data = Buffer.alloc(0), finished = false;
        const finish = () => {
            if (finished) return;
            finished = true;
            clearTimeout(timer);
            sock.destroy();
            const s = data.toString("latin1");
            const m = s.match(/^HTTP\/1\.[01] (\d{3})/);
            const i = s.indexOf("\r\n\r\n");
            resolve({ status: m ? +m[1] : 0, head: i >= 0 ? s.slice(0, i) : s, body: i >= 0 ? data.subarray(i + 4).toString() : "", raw: s });
        };
        const timer = setTimeout(finish, timeout);
        sock.on("data", (d) => { data = Buffer.concat([data, d]); if (until && until.test(data.toString("latin1"))) finish(); });
        sock.on("close", finish);
        sock.on("error", () => finish());
        sock.on("connect", async () => {
            for (const c of chunks) {
                if (finished) return;
                sock.write(c);
                if (delay) await new Promise((r) => setTimeout(r, delay));
            }
        });
    });
}

export function post(path, obj, extra = "") {
    const body = typeof obj === "string" || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj);
    const len = Buffer.byteLength(body);
    return [`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\nConnection: close\r\n${extra}\r\n`, body];
}

export function tokenCount(text) {
    const out = execFileSync(SEEK, ["tokenize", "-m", MODEL, text]).toString().trim();
    return out ? out.split(/\s+/).length : 0;
}

export const BOS = "<｜begin▁of▁sentence｜>", USER = "<｜User｜>", ASSISTANT = "<｜Assistant｜>";
