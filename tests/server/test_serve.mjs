// test_serve.mjs - `seek serve` end to end, with the official `openai` npm client.
// Run by tests/cli/test_serve.sh (which installs the client into build/npm).
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { readFileSync, unlinkSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEEK, MODEL, startServer, stopServer, check, assert, raw, post, tokenCount, failed, BOS, USER, ASSISTANT } from "./lib.mjs";

const npm = createRequire(process.env.NPM_DIR + "/package.json");
const { default: OpenAI } = await import(pathToFileURL(npm.resolve("openai")).href);

const greedy = { temperature: 0 };
const ask = (text, n = 8) => ({ model: "chat-model", messages: [{ role: "user", content: text }], max_tokens: n, ...greedy });

async function streamText(client, req, opts = {}) {
    const s = await client.chat.completions.create({ ...req, stream: true }, opts);
    let reasoning = "", content = "", finish = null, usage = null, chunks = 0;
    const logprobs = [];
    for await (const ch of s) {
        chunks++;
        if (ch.usage) usage = ch.usage;
        const c = ch.choices[0];
        if (!c) continue;
        if (c.logprobs?.content) logprobs.push(...c.logprobs.content);
        if (c.delta.reasoning_content) reasoning += c.delta.reasoning_content;
        if (c.delta.content) content += c.delta.content;
        if (c.finish_reason) finish = c.finish_reason;
    }
    return { reasoning, content, finish, usage, chunks, logprobs };
}

// ---------------------------------------------------------------------------
// While the model loads: 503 with the error object, /health says "loading"
{
    const srv = await startServer([], { SEEK_SERVE_TEST_LOAD_DELAY_MS: "1500" }, false);
    await check("loading_503", async () => {
        const h = await fetch(srv.url + "/health");
        assert(h.status === 503 && (await h.json()).status === "loading", "health " + h.status);
        const r = await raw(srv.port, post("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }));
        assert(r.status === 503 && JSON.parse(r.body).error.code === "loading", r.raw.slice(0, 300));
        for (let k = 0; k < 100; k++) {   // then it becomes ready
            if ((await fetch(srv.url + "/health")).status === 200) return;
            await new Promise((res) => setTimeout(res, 50));
        }
        throw new Error("never became ready");
    });
    await stopServer(srv);
}

// ---------------------------------------------------------------------------
// The R1-style server: chat, streaming, reasoning, usage, batching, cancellation
{
    const srv = await startServer(["--parallel", "4", "--queue", "64", "--read-timeout", "2", "--idle-timeout", "5"]);
    const client = new OpenAI({ baseURL: srv.url + "/v1", apiKey: "none", maxRetries: 0 });

    await check("models", async () => {
        const m = await client.models.list();
        assert(m.data.length === 1 && m.data[0].id === "chat-model", JSON.stringify(m.data));
    });

    let plain;
    await check("chat", async () => {
        plain = await client.chat.completions.create(ask("Hello", 8));
        const c = plain.choices[0];
        assert(plain.object === "chat.completion" && c.message.role === "assistant", JSON.stringify(plain));
        assert(c.finish_reason === "length", "finish_reason " + c.finish_reason);
        // R1's generation prompt opens <think>: a random model never closes it, so all is reasoning
        assert(typeof c.message.reasoning_content === "string" && c.message.reasoning_content.length > 0,
            "no reasoning_content: " + JSON.stringify(c.message));
        assert(c.message.content === "", "content: " + JSON.stringify(c.message.content));
    });

    await check("usage_matches_tokenizer", async () => {
        const expect = tokenCount(BOS + USER + "Hello" + ASSISTANT + "<think>\n");
        assert(plain.usage.prompt_tokens === expect, `prompt_tokens ${plain.usage.prompt_tokens} != seek tokenize ${expect}`);
        assert(plain.usage.completion_tokens === 8 && plain.usage.total_tokens === expect + 8, JSON.stringify(plain.usage));
    });

    await check("stream_equals_plain", async () => {
        const s = await streamText(client, { ...ask("Hello", 8), stream_options: { include_usage: true } });
        assert(s.reasoning === plain.choices[0].message.reasoning_content,
            `streamed ${JSON.stringify(s.reasoning)} != ${JSON.stringify(plain.choices[0].message.reasoning_content)}`);
        assert(s.finish === "length" && s.usage && s.usage.completion_tokens === 8, JSON.stringify(s));
        assert(s.chunks >= 3, "chunks " + s.chunks);
    });

    await check("stop_and_system", async () => {
        const r = await client.chat.completions.create({ ...ask("Hi", 4), messages: [
            { role: "system", content: "Be brief." }, { role: "user", content: "Hi" },
            { role: "assistant", content: "Hello." }, { role: "user", content: [{ type: "text", text: "Again" }] }],
            stop: ["zzzz"], seed: 1, presence_penalty: 0.5, frequency_penalty: 0.5, top_p: 0.9 });
        const expect = tokenCount(BOS + "Be brief." + USER + "Hi" + ASSISTANT + "Hello.<｜end▁of▁sentence｜>" + USER + "Again" + ASSISTANT + "<think>\n");
        assert(r.usage.prompt_tokens === expect, `prompt_tokens ${r.usage.prompt_tokens} != ${expect}`);
    });

    await check("prefix_reuse", async () => {
        // the next turn of a conversation reuses the slot that holds its beginning,
        // and the answer is the one a fresh slot gives
        const sys = { role: "system", content: "You are a helpful assistant. ".repeat(20) };
        const a = await client.chat.completions.create({ ...ask("First", 6), messages: [sys, { role: "user", content: "First" }] });
        const turn2 = [sys, { role: "user", content: "First" }, { role: "assistant", content: "ok" }, { role: "user", content: "Second" }];
        const b = await client.chat.completions.create({ ...ask("", 6), messages: turn2 });
        assert(b.usage.prompt_cache_hit_tokens >= a.usage.prompt_tokens - 4,   // all but "<think>\n" after <｜Assistant｜>
             "hits " + JSON.stringify(b.usage) + " first " + a.usage.prompt_tokens);
        // four requests at once spread over the 4 slots: at most one has the prefix, the others start cold
        const cold = await Promise.all([0, 1, 2, 3].map(() => client.chat.completions.create({ ...ask("", 6), messages: turn2 })));
        assert(cold.some((r) => r.usage.prompt_cache_hit_tokens < 5), "no cold slot: " + cold.map((r) => r.usage.prompt_cache_hit_tokens));
        for (const r of cold) assert(r.choices[0].message.reasoning_content === b.choices[0].message.reasoning_content, "cached and cold answers differ");
    });

    await check("logprobs", async () => {
        const r = await client.chat.completions.create({ ...ask("Hello", 4), logprobs: true, top_logprobs: 3 });
        const lp = r.choices[0].logprobs.content;
        assert(lp.length === 4, "entries " + lp.length);
        for (const e of lp) {
            assert(e.top_logprobs.length === 3 && e.logprob <= 0, JSON.stringify(e));
            // greedy: the chosen token is the most likely one
            assert(Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-6, JSON.stringify(e));
        }
    });

    await check("completions", async () => {
        const r = await client.completions.create({ model: "chat-model", prompt: "The sky is", max_tokens: 5, temperature: 0 });
        assert(r.object === "text_completion" && r.usage.completion_tokens === 5 && typeof r.choices[0].text === "string", JSON.stringify(r));
    });

    // /v1/completions logprobs in OpenAI's legacy shape: {tokens, token_logprobs, top_logprobs: [{tok: lp}], text_offset}
    const cmpl = { model: "chat-model", prompt: "The sky is", max_tokens: 8, temperature: 0 };
    let legacy;
    await check("completions_logprobs_legacy", async () => {
        const r = await client.completions.create({ ...cmpl, logprobs: 3 });
        const c = r.choices[0], lp = c.logprobs, n = r.usage.completion_tokens;
        legacy = r;
        assert(JSON.stringify(Object.keys(lp).sort()) === '["text_offset","token_logprobs","tokens","top_logprobs"]', JSON.stringify(lp));
        for (const k of ["tokens", "token_logprobs", "top_logprobs", "text_offset"]) assert(lp[k].length === n, `${k}: ${lp[k].length} != ${n}`);
        // control tokens (DeepSeek's <｜...｜>) are named but left out of the text
        const shown = (t) => (/^<｜.*｜>$/.test(t) ? "" : t);
        assert(lp.tokens.map(shown).join("") === c.text, `tokens ${JSON.stringify(lp.tokens)} do not make the text ${JSON.stringify(c.text)}`);
        for (let i = 0; i < n; i++) {
            const top = lp.top_logprobs[i], vals = Object.values(top);
            assert(typeof lp.tokens[i] === "string" && lp.token_logprobs[i] <= 0, JSON.stringify(lp));
            assert(vals.length === 3, `top_logprobs[${i}] should hold the 3 most likely (the greedy choice among them): ${JSON.stringify(top)}`);
            assert(top[lp.tokens[i]] === lp.token_logprobs[i], `top_logprobs[${i}] lacks the chosen token: ${JSON.stringify(top)}`);
            assert(Math.max(...vals) === lp.token_logprobs[i], `greedy: the chosen token is not the most likely: ${JSON.stringify(top)}`);
            // characters (code points) of the text before token i
            assert(lp.text_offset[i] === [...lp.tokens.slice(0, i).map(shown).join("")].length, "text_offset " + JSON.stringify(lp.text_offset));
        }
        // the values against an independent path: log-softmax (in double, here) of the logits
        // `seek logits` writes for the same prompt ids (the CLI's own forward call, F32 cache),
        // over the ids the tokenizer has (the server never draws the padding of the id space);
        // the server under test gets an F32 cache too (an F16 cache moves this random model's
        // logits by ~0.3)
        const ids = execFileSync(SEEK, ["tokenize", "-m", MODEL, "--bos", cmpl.prompt]).toString().trim().split(/\s+/);
        assert(ids.length === r.usage.prompt_tokens, `prompt ids ${ids} vs usage ${r.usage.prompt_tokens}`);
        const f = join(tmpdir(), `seek-lp-${process.pid}.f32`);
        execFileSync(SEEK, ["logits", "-m", MODEL, "--tokens", ids.join(","), "-o", f]);
        const buf = readFileSync(f);
        unlinkSync(f);
        const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)), V = all.length / ids.length;
        const tj = JSON.parse(readFileSync("tests/data/tokenizer/deepseek-v3/tokenizer.json", "utf8"));
        const known = new Set([...Object.values(tj.model.vocab), ...tj.added_tokens.map((t) => t.id)]);
        const row = Array.from(all.subarray((ids.length - 1) * V), (x, id) => [x, id]).filter(([, id]) => known.has(id));
        let mx = -Infinity, sum = 0;
        for (const [x] of row) mx = Math.max(mx, x);
        for (const [x] of row) sum += Math.exp(x - mx);
        const ref = row.map(([x, id]) => [x - mx - Math.log(sum), id]).sort((a, b) => b[0] - a[0]).slice(0, 3);
        const s32 = await startServer(["--parallel", "1", "--cache-type", "f32"]);
        try {
            const r32 = await fetch(s32.url + "/v1/completions", { method: "POST", body: JSON.stringify({ ...cmpl, max_tokens: 1, logprobs: 3 }) });
            const top = Object.entries((await r32.json()).choices[0].logprobs.top_logprobs[0]).sort((a, b) => b[1] - a[1]);
            for (let k = 0; k < 3; k++) {
                const t = execFileSync(SEEK, ["tokenize", "-m", MODEL, "--decode", String(ref[k][1]), "--show-special"]).toString().replace(/\n$/, "");
                assert(top[k][0] === t && Math.abs(top[k][1] - ref[k][0]) < 1e-4,
                       `top ${k}: server ${JSON.stringify(top[k])} vs the logits' ${JSON.stringify([t, ref[k][0]])}`);
            }
        } finally { await stopServer(s32); }
    });

    await check("completions_logprobs_stream", async () => {
        const s = await client.completions.create({ ...cmpl, logprobs: 3, stream: true });
        const cat = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
        let text = "", chunks = 0;
        for await (const ch of s) {
            const c = ch.choices[0];
            if (!c) continue;
            text += c.text;
            if (!c.logprobs) continue;
            chunks++;
            const lens = Object.values(c.logprobs).map((a) => a.length);
            assert(lens.length === 4 && lens.every((x) => x === lens[0]), "chunk logprobs " + JSON.stringify(c.logprobs));
            for (const k of Object.keys(cat)) cat[k].push(...c.logprobs[k]);
        }
        assert(chunks >= 2, "logprobs came in " + chunks + " chunks");
        assert(text === legacy.choices[0].text, `streamed text ${JSON.stringify(text)} != ${JSON.stringify(legacy.choices[0].text)}`);
        assert(JSON.stringify(cat) === JSON.stringify(legacy.choices[0].logprobs),
               `streamed ${JSON.stringify(cat)} != not streamed ${JSON.stringify(legacy.choices[0].logprobs)}`);
    });

    await check("completions_echo", async () => {
        const r = await client.completions.create({ ...cmpl, echo: true });
        assert(r.choices[0].text === cmpl.prompt + legacy.choices[0].text, JSON.stringify(r.choices[0].text));
        const s = await client.completions.create({ ...cmpl, echo: true, stream: true });
        let text = "";
        for await (const ch of s) if (ch.choices[0]) text += ch.choices[0].text;
        assert(text === r.choices[0].text, "streamed echo " + JSON.stringify(text));
        // echo with logprobs would need the prompt tokens' logprobs: refused, naming the field
        for (const [body, param] of [[{ ...cmpl, echo: true, logprobs: 1 }, "echo"], [{ ...cmpl, logprobs: 6 }, "logprobs"],
                                     [{ ...cmpl, logprobs: true }, "logprobs"], [{ ...cmpl, echo: "yes" }, "echo"]]) {
            const e = await raw(srv.port, post("/v1/completions", body));
            assert(e.status === 400 && JSON.parse(e.body).error.param === param, `${JSON.stringify(body)}: ${e.raw.slice(0, 300)}`);
        }
    });

    // 32 streamed greedy requests at once == the same requests one at a time. A sequence's
    // numbers do not depend on what else is in the batch, but they may on how its prompt is
    // split (another slot's cached prefix, the prefill budget): MLA then takes the other
    // evaluation order for some rows (arch_deepseek2.c), ~1e-7 apart, which in this MoE
    // model can flip an expert choice at a near-tie and move the answer (seen: one request
    // of 32, from its first token, with a cached prefix of 1 token batched against 8 one at
    // a time). So at most two of the 32 may differ; a request reading another's rows,
    // positions or cache moves nearly all of them.
    await check("batch32_equals_sequential", async () => {
        const reqs = Array.from({ length: 32 }, (_, i) => ({ ...ask(`Question ${i}: ${"why ".repeat(i % 5)}?`, 10), logprobs: true, top_logprobs: 2 }));
        const seq = [];
        for (const q of reqs) seq.push(await streamText(client, q));
        const par = await Promise.all(reqs.map((q) => streamText(client, q)));
        const parted = [];
        for (let i = 0; i < 32; i++) {
            const a = seq[i].logprobs, b = par[i].logprobs;
            assert(a.length === 10 && b.length === 10, `request ${i}: ${a.length} and ${b.length} log-probability entries`);
            const k = a.findIndex((e, t) => e.token !== b[t].token || e.logprob !== b[t].logprob);
            if (k >= 0) parted.push(`request ${i} at token ${k}: ${JSON.stringify(a[k].top_logprobs)} one at a time, ${JSON.stringify(b[k].top_logprobs)} batched`);
            else assert(par[i].reasoning === seq[i].reasoning, `request ${i}: ${JSON.stringify(par[i].reasoning)} != ${JSON.stringify(seq[i].reasoning)}`);
        }
        assert(parted.length <= 2, `${parted.length} of 32 answers differ: ${parted.slice(0, 3).join("; ")}`);
        const distinct = new Set(seq.map((r) => r.reasoning)).size;
        assert(distinct > 8, "outputs too alike to tell anything: " + distinct);
    });

    await check("no_cors_by_default", async () => {
        const m = await fetch(srv.url + "/v1/models");
        assert(m.headers.get("access-control-allow-origin") === null, "CORS header without --cors");
    });

    await check("metrics", async () => {
        let t = "";
        for (let k = 0; k < 40; k++) {   // the last slot is released just after its answer went out
            t = await (await fetch(srv.url + "/metrics")).text();
            if (/seek_slots_busy 0/.test(t)) break;
            await new Promise((res) => setTimeout(res, 50));
        }
        assert(/seek_requests_total\{status="200"\} \d+/.test(t), t.slice(0, 300));
        assert(/seek_generated_tokens_total [1-9]/.test(t) && /seek_slots_busy 0/.test(t) && /seek_queue_length 0/.test(t), t);
    });

    // ---- malformed input: each answered with the right status, the server keeps serving
    const api = "/v1/chat/completions";
    const expectError = async (name, chunks, status, pred = () => true, opts = {}) => check(name, async () => {
        const r = await raw(srv.port, chunks, opts);
        assert(r.status === status, `status ${r.status} (expected ${status}): ${r.raw.slice(0, 300)}`);
        if (status !== 431) {
            const e = JSON.parse(r.body).error;
            assert(e && typeof e.message === "string" && "type" in e && "param" in e && "code" in e, r.body);
            assert(pred(e), "error " + JSON.stringify(e));
        }
    });
    await expectError("bad_json", post(api, '{"messages": [}'), 400, (e) => e.code === "invalid_json");
    await expectError("wrong_type", post(api, { messages: [{ role: "user", content: "x" }], temperature: "hot" }), 400, (e) => e.param === "temperature");
    await expectError("wrong_type_nested", post(api, { messages: [{ role: "user", content: 5 }] }), 400, (e) => e.param === "messages[0].content");
    await expectError("missing_messages", post(api, { model: "chat-model" }), 400, (e) => e.param === "messages");
    await expectError("n_2", post(api, { messages: [{ role: "user", content: "x" }], n: 2 }), 400, (e) => e.param === "n");
    await expectError("bad_utf8", post(api, Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')])), 400);
    await expectError("prompt_too_long", post(api, { messages: [{ role: "user", content: "word ".repeat(5000) }] }), 400, (e) => e.code === "context_length_exceeded");
    await expectError("unknown_model", post(api, { model: "gpt-9", messages: [{ role: "user", content: "x" }] }), 404, (e) => e.code === "model_not_found");
    await expectError("unknown_path", [`GET /v2/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], 404);
    await expectError("wrong_method", [`GET ${api} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], 405);
    await expectError("body_100mb", [`POST ${api} HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 << 20}\r\n\r\n`, "x".repeat(1 << 16)], 413,
        (e) => e.code === "request_too_large", { until: /\r\n\r\n[\s\S]*\}\}/ });
    await check("headers_10000", async () => {
        const h = Array.from({ length: 10000 }, (_, i) => `X-H${i}: v\r\n`).join("");
        const r = await raw(srv.port, [`GET /health HTTP/1.1\r\nHost: x\r\n${h}\r\n`]);
        // refused by libmicrohttpd itself (its body is HTML): the request never reaches us
        assert(r.status === 431, `status ${r.status}: ${r.raw.slice(0, 200)}`);
    });
    await check("one_byte_a_second", async () => {
        const msg = post(api, { messages: [{ role: "user", content: "x" }] }).join("");
        const t0 = Date.now();
        const slow = raw(srv.port, [...msg], { delay: 1000, timeout: 10000 });
        // meanwhile others are served
        const h = await fetch(srv.url + "/health");
        assert(h.status === 200, "health during slow client: " + h.status);
        const r = await slow;
        const dt = Date.now() - t0;
        assert(r.status === 408 && JSON.parse(r.body).error.code === "timeout", `status ${r.status} after ${dt} ms: ${r.raw.slice(0, 200)}`);
        assert(dt < 6000, "took " + dt + " ms");
    });

    // a client that disconnects mid-stream frees its slot (here: all 4 slots, then 4 more requests)
    await check("disconnect_frees_slot", async () => {
        const ctrls = [];
        const started = [];
        for (let i = 0; i < 4; i++) {
            const ac = new AbortController();
            ctrls.push(ac);
            started.push((async () => {
                const s = await client.chat.completions.create({ ...ask("long " + i, 100000), stream: true }, { signal: ac.signal });
                try { for await (const ch of s) { if (ch.choices[0]?.delta?.reasoning_content) break; } } catch { }
            })());
        }
        await Promise.all(started);   // each loop broke out after its first text: the stream is dropped
        for (const ac of ctrls) ac.abort();
        const t0 = Date.now();
        const r = await client.chat.completions.create(ask("after", 4));
        assert(r.choices[0].finish_reason === "length", JSON.stringify(r));
        let busy = -1;
        for (let k = 0; k < 50 && busy !== 0; k++) {
            busy = (await (await fetch(srv.url + "/health")).json()).slots_busy;
            if (busy) await new Promise((res) => setTimeout(res, 100));
        }
        assert(busy === 0, "slots still busy: " + busy);
        assert(Date.now() - t0 < 8000, "the freed slots took " + (Date.now() - t0) + " ms");
    });

    // a client waiting for a non-streamed answer hangs up: nothing is being written to
    // it, so the server must notice on its own (it polls the socket) and free the slot
    await check("disconnect_nonstream_frees_slot", async () => {
        await raw(srv.port, post(api, { messages: [{ role: "user", content: "long" }], max_tokens: 100000 }), { timeout: 800 });
        let busy = -1;
        for (let k = 0; k < 40 && busy !== 0; k++) {
            busy = (await (await fetch(srv.url + "/health")).json()).slots_busy;
            if (busy) await new Promise((res) => setTimeout(res, 100));
        }
        assert(busy === 0, "the abandoned request still holds a slot");
    });

    await check("still_serving", async () => {
        const r = await client.chat.completions.create(ask("Hello", 8));
        assert(r.choices[0].message.reasoning_content === plain.choices[0].message.reasoning_content, "answer changed");
    });

    await check("sigterm_exit_0", async () => {
        const t0 = Date.now();
        const code = await stopServer(srv);
        assert(code === 0, "exit " + code);
        assert(Date.now() - t0 < 3000, "stopping took " + (Date.now() - t0) + " ms (a request left unaccounted?)");
        assert(/GET \/health 200 tokens=0 ms=\d+/.test(srv.log()) && /POST \/v1\/chat\/completions 400/.test(srv.log()), "log lines: " + srv.log().slice(-500));
    });
}

// ---------------------------------------------------------------------------
// A V3.1-template server with an API key: the tool-call round trip, 401, 429
{
    const tmpl = "tests/data/chat/deepseek-v3.1.jinja";
    const call = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
    const srv = await startServer(["--chat-template", tmpl, "--api-key", "sekret", "--parallel", "1", "--queue", "1", "--cors", "http://example.test"],
        { SEEK_SERVE_FORCE_OUTPUT: call });
    const client = new OpenAI({ baseURL: srv.url + "/v1", apiKey: "sekret", maxRetries: 0 });
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather of a city",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const messages = [{ role: "user", content: "Weather in Paris?" }];

    let msg;
    await check("tool_call", async () => {
        const r = await client.chat.completions.create({ model: "chat-model", messages, tools, temperature: 0, max_tokens: 64 });
        const c = r.choices[0];
        assert(c.finish_reason === "tool_calls", "finish_reason " + c.finish_reason + " " + JSON.stringify(c.message));
        msg = c.message;
        const tc = msg.tool_calls;
        assert(tc.length === 1 && tc[0].type === "function" && tc[0].function.name === "get_weather" && tc[0].id, JSON.stringify(tc));
        assert(JSON.parse(tc[0].function.arguments).city === "Paris", tc[0].function.arguments);
        assert(!msg.content, "content " + JSON.stringify(msg.content));
    });

    await check("tool_call_streamed", async () => {
        const s = await client.chat.completions.create({ model: "chat-model", messages, tools, temperature: 0, max_tokens: 64, stream: true });
        const calls = [];
        let finish = null, content = "";
        for await (const ch of s) {
            const c = ch.choices[0];
            if (!c) continue;
            if (c.delta.content) content += c.delta.content;
            for (const d of c.delta.tool_calls || []) {
                calls[d.index] ??= { id: "", name: "", args: "" };
                if (d.id) calls[d.index].id = d.id;
                if (d.function?.name) calls[d.index].name += d.function.name;
                if (d.function?.arguments) calls[d.index].args += d.function.arguments;
            }
            if (c.finish_reason) finish = c.finish_reason;
        }
        assert(finish === "tool_calls" && calls.length === 1 && calls[0].name === "get_weather" && content === "", JSON.stringify({ calls, finish, content }));
        assert(JSON.parse(calls[0].args).city === "Paris", calls[0].args);
    });

    await check("tool_result_round_trip", async () => {
        const history = [...messages, msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: "sunny, 21 C" }];
        const r = await client.chat.completions.create({ model: "chat-model", messages: history, tools, temperature: 0, max_tokens: 64 });
        assert(r.choices[0].finish_reason === "tool_calls", JSON.stringify(r.choices[0]));
        // the prompt: the tools description, the call as the model wrote it, the tool's output
        const sys = r.usage.prompt_tokens;
        const noTools = await client.chat.completions.create({ model: "chat-model", messages: [...messages], temperature: 0, max_tokens: 1, thinking: false });
        const expectTail = tokenCount('<｜Assistant｜></think>' + '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁output▁begin｜>sunny, 21 C<｜tool▁output▁end｜>');
        assert(sys > noTools.usage.prompt_tokens + 20, `tools not in the prompt: ${sys} vs ${noTools.usage.prompt_tokens}`);
        assert(r.usage.prompt_cache_hit_tokens > 20, "the first turn's prefix was not reused: " + JSON.stringify(r.usage));
        assert(expectTail > 10, "tail " + expectTail);
    });

    await check("cors", async () => {
        const pre = await fetch(srv.url + "/v1/chat/completions", { method: "OPTIONS", headers: { Origin: "http://example.test", "Access-Control-Request-Method": "POST" } });
        assert(pre.status === 204 && pre.headers.get("access-control-allow-origin") === "http://example.test" &&
            /Authorization/.test(pre.headers.get("access-control-allow-headers")), "preflight " + pre.status);
        const m = await fetch(srv.url + "/v1/models", { headers: { Authorization: "Bearer sekret" } });
        assert(m.headers.get("access-control-allow-origin") === "http://example.test", "no CORS header on a response");
    });

    await check("wrong_key_401", async () => {
        const bad = new OpenAI({ baseURL: srv.url + "/v1", apiKey: "wrong", maxRetries: 0 });
        try { await bad.models.list(); } catch (e) { assert(e.status === 401 && e.error?.code === "invalid_api_key", e.status + " " + JSON.stringify(e.error)); return; }
        throw new Error("no 401");
    });

    await check("queue_full_429", async () => {
        // one slot, a queue of one: a third request at once is refused
        const slow = (i) => client.chat.completions.create({ model: "chat-model", messages: [{ role: "user", content: "q" + i }], max_tokens: 200, temperature: 0 })
            .then(() => 200, (e) => e.status);
        const st = await Promise.all([slow(1), slow(2), slow(3), slow(4)]);
        assert(st.includes(429) && st.includes(200), "statuses " + st);
    });

    await stopServer(srv);
}

process.exit(failed() ? 1 : 0);
