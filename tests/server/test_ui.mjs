// test_ui.mjs - the web chat page of `seek serve` in headless Chromium (Debian's
// chromium, driven by playwright-core): send a message and watch it stream, expand
// the reasoning, stop a generation, reload and find the conversation, phone width.
// Saves screenshots in build/ (and in docs/ with SEEK_UPDATE_DOCS=1).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { startServer, stopServer, check, assert, failed, fail } from "./lib.mjs";

const npm = createRequire(process.env.NPM_DIR + "/package.json");
const { chromium } = npm("playwright-core");
const exe = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
if (!exe) { fail("setup", "chromium is not installed (apt-get install chromium)"); process.exit(1); }

const shot = (name) => (process.env.SEEK_UPDATE_DOCS ? "docs/" : (process.env.BUILD || "build") + "/") + name;
const srv = await startServer(["--parallel", "2"]);
const browser = await chromium.launch({ executablePath: exe, args: ["--no-sandbox", "--disable-gpu"], headless: true });
try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(srv.url + "/");

    await check("page_loads", async () => {
        assert((await page.title()) === "seek", "title " + (await page.title()));
        assert(await page.isVisible("#input"), "no input box");
    });

    await check("send_and_stream", async () => {
        await page.click("#gear");
        await page.fill("#s-max", "300");
        await page.fill("#s-temp", "0");
        // record every length the reasoning text takes while the answer streams in
        await page.evaluate(() => {
            window.__lengths = [];
            new MutationObserver(() => {
                const t = document.querySelector(".msg.assistant details.reasoning .text");
                if (t) window.__lengths.push(t.textContent.length);
            }).observe(document.getElementById("msgs"), { subtree: true, childList: true, characterData: true });
        });
        await page.fill("#input", "Hello there");
        await page.press("#input", "Enter");
        await page.waitForSelector("#send", { state: "visible", timeout: 30000 });
        const lengths = new Set(await page.evaluate(() => window.__lengths));
        assert(await page.isVisible("#send"), "the answer did not finish");
        const final = Math.max(...lengths);
        assert([...lengths].some((n) => n > 0 && n < final), "no partial answer seen (not streamed), lengths: " + [...lengths]);
        const stats = await page.textContent(".msg.assistant .stats");
        assert(/\d+ tokens · [\d.]+ tok\/s/.test(stats), "stats: " + stats);
    });

    await check("expand_reasoning", async () => {
        const d = page.locator(".msg.assistant details.reasoning").first();
        assert(!(await d.evaluate((e) => e.open)), "reasoning open before a click");
        await d.locator("summary").click();
        assert(await d.evaluate((e) => e.open), "reasoning did not open");
        assert((await d.locator(".text").textContent()).length > 0, "empty reasoning");
        await page.screenshot({ path: shot("server-ui.png") });
    });

    await check("stop", async () => {
        await page.fill("#s-max", "100000");
        await page.fill("#input", "Write a long story");
        await page.press("#input", "Enter");
        await page.waitForFunction(() => document.querySelectorAll(".msg.assistant").length === 2 &&
            (document.querySelectorAll(".msg.assistant")[1].querySelector(".reasoning .text").textContent.length > 20), null, { timeout: 15000 });
        await page.click("#stop");
        await page.waitForSelector("#send", { state: "visible", timeout: 5000 });
        const stats = await page.textContent(".msg.assistant:nth-of-type(4) .stats");
        assert(/stopped/.test(stats), "stats after stop: " + stats);
        let busy = -1;
        for (let k = 0; k < 50 && busy !== 0; k++) {
            busy = (await (await fetch(srv.url + "/health")).json()).slots_busy;
            if (busy) await new Promise((r) => setTimeout(r, 100));
        }
        assert(busy === 0, "the stopped generation still holds a slot");
    });

    await check("reload_keeps_conversation", async () => {
        await page.reload();
        const titles = await page.locator(".conv span").allTextContents();
        assert(titles.includes("Hello there"), "conversations: " + JSON.stringify(titles));
        await page.click("#new");
        assert((await page.locator(".msg").count()) === 0, "new conversation not empty");
        await page.click(".conv span >> text=Hello there");
        assert((await page.locator(".msg").count()) === 4, "messages after reload: " + (await page.locator(".msg").count()));
    });

    await check("markdown", async () => {
        const html = await page.evaluate(() => markdown("# T\n**b** `c<x>`\n\n```js\nlet a = 1 < 2;\n```\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |"));
        assert(html.includes("<strong>b</strong>") && html.includes("<code>c&lt;x&gt;</code>") && html.includes('<pre><code class="lang-js">let a = 1 &lt; 2;</code></pre>')
            && html.includes("<ul><li>one</li><li>two</li></ul>") && html.includes("<td>1</td>"), html);
    });

    await check("phone_width", async () => {
        await page.setViewportSize({ width: 380, height: 760 });
        await page.waitForTimeout(400);   // the sidebar slides away
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        assert(w <= 380, "page is " + w + " px wide at 380");
        const sideRight = () => page.evaluate(() => document.getElementById("side").getBoundingClientRect().right);
        assert(await page.isVisible("#menu") && (await sideRight()) <= 0, "sidebar not folded on a phone");
        await page.click("#menu");
        await page.waitForTimeout(400);
        assert((await sideRight()) > 100, "menu does not open the conversation list");
        await page.screenshot({ path: shot("server-ui-phone.png") });
    });

    await check("no_page_errors", async () => assert(errors.length === 0, errors.join("; ")));
} finally {
    await browser.close();
    await stopServer(srv);
}
process.exit(failed() ? 1 : 0);
