// Drives the dashboard in Debian's Chromium with playwright-core: opens it against a
// real `scry serve`, runs searches through the Python MCP SDK and one `scry search` from
// a shell (DASHBOARD_CLI_SEARCH, a JSON array), and checks that the counters and the
// recent-calls list update live (no reload); saves screenshots.
// usage: node drive.js DASHBOARD_URL OUT_DIR SEARCH_COMMAND...
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");
const { execFileSync } = require("child_process");
const path = require("path");

const [url, out, ...search] = process.argv.slice(2);
const log = (...a) => console.error("[dashboard]", ...a);
const text = (page, id) => page.locator(`#${id}`).innerText();

async function until(what, f, ms = 20000) {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/lib/chromium/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  // A narrow window: the page must stay readable.
  const page = await browser.newPage({ viewport: { width: 420, height: 1100 } });
  const failed = [];
  page.on("requestfailed", (r) => failed.push(r.url()));
  try {
    await page.goto(url);
    await until("the live stream", async () => (await page.locator("#live").getAttribute("data-on")) === "true");
    await until("the index state", async () => /^\d+$/.test(await text(page, "generation")));
    const files = Number(await text(page, "files"));
    if (!(files >= 3)) throw new Error(`files: ${files}`);
    if ((await text(page, "calls-total")) !== "0") throw new Error("calls before any search");
    await page.evaluate(() => { window.__notReloaded = true; });
    await page.screenshot({ path: path.join(out, "dashboard-before.png"), fullPage: true });
    log("page up:", files, "files; running searches");

    execFileSync(search[0], search.slice(1), { stdio: "inherit" });
    await until("3 calls counted", async () => (await text(page, "calls-total")) === "3");
    const rows = page.locator("#recent tr");
    await until("3 rows of recent calls", async () => (await rows.count()) === 3);
    const tools = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.tool));
    if (tools.some((t) => t !== "search_code")) throw new Error(`tools: ${tools}`);
    // The repeated query came from the cache: the newest row says so, and the counter.
    const newest = await rows.first().locator("td").allInnerTexts();
    if (!newest.includes("hit")) throw new Error(`newest row: ${newest}`);
    await until("the cache counter", async () => (await text(page, "cache")).startsWith("1 / 3"));
    // A search from a shell (another process, another face) shows up too, from the
    // index's activity journal.
    const cli = JSON.parse(process.env.DASHBOARD_CLI_SEARCH);
    execFileSync(cli[0], cli.slice(1), { stdio: ["ignore", "ignore", "inherit"] });
    await until("the shell's search in the list", async () =>
      (await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.face))).includes("cli"));
    await until("4 calls counted", async () => (await text(page, "calls-total")) === "4");
    if (!(await page.evaluate(() => window.__notReloaded))) throw new Error("the page reloaded");
    // Keyboard: the recent-calls region takes focus.
    await until("focus on the table", async () => {
      await page.keyboard.press("Tab");
      return page.evaluate(() => document.activeElement?.getAttribute("aria-label") === "recent calls, scrollable");
    }, 5000);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 420) throw new Error(`the page is ${width}px wide in a 420px window`);
    if (failed.length) throw new Error(`requests failed: ${failed}`);
    await page.screenshot({ path: path.join(out, "dashboard-after.png"), fullPage: true });
    log("ok: counters and recent calls updated live; screenshots in", out);
  } catch (e) {
    await page.screenshot({ path: path.join(out, "dashboard-failure.png"), fullPage: true }).catch(() => {});
    console.error(e);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
