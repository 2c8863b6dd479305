// Drives code-server in Debian's Chromium with playwright-core: waits for the Scry
// status bar item, runs "Scry: Search Workspace" and "Scry: Ask" from the command
// palette, asserts on what the page shows, and saves screenshots.
// usage: node drive.js URL OUT_DIR
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");
const fs = require("fs");
const path = require("path");

const [url, out] = process.argv.slice(2);
const log = (...a) => console.error("[drive]", ...a);

async function palette(page, command) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 20000 });
  await input.fill(`>${command}`);
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: command }).first();
  await row.waitFor({ timeout: 20000 });
  await page.keyboard.press("Enter");
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(out, name) });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/lib/chromium/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const result = { ok: false, steps: [] };
  try {
    await page.goto(url);
    await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
    log("workbench up");

    // The status bar item reports the index once the extension has started scry lsp.
    const status = page.locator(".statusbar-item", { hasText: "Scry" }).first();
    await status.waitFor({ timeout: 90000 });
    await page.waitForFunction(
      () => [...document.querySelectorAll(".statusbar-item")].some((e) => /Scry: [\d,k]+ chunks/.test(e.textContent)),
      null, { timeout: 90000 });
    const statusText = (await status.textContent()).trim();
    log("status:", statusText);
    // The fixture runs without an embedding model: the item says BM25-only.
    if (!statusText.includes("BM25-only")) throw new Error(`the status item does not say BM25-only: ${statusText}`);
    result.steps.push({ status: statusText });

    // Scry: Search Workspace, live results, choose one.
    await palette(page, "Scry: Search Workspace");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill("route_request");
    const hit = page.locator(".quick-input-list .monaco-list-row", { hasText: "route_request" }).first();
    await hit.waitFor({ timeout: 30000 });
    const hitText = (await hit.textContent()).trim();
    log("search hit:", hitText);
    if (!hitText.includes("src/server.rs")) throw new Error(`the hit does not name src/server.rs: ${hitText}`);
    await shot(page, "search.png");
    await page.keyboard.press("Enter");
    const tab = page.locator(".tabs-container .tab.active", { hasText: "server.rs" }).first();
    await tab.waitFor({ timeout: 20000 });
    // The cursor is on the hit: the status bar's line indicator says so.
    await page.waitForFunction(
      () => [...document.querySelectorAll(".statusbar-item")].some((e) => /Ln \d+, Col/.test(e.textContent)),
      null, { timeout: 20000 });
    const ln = await page.locator(".statusbar-item", { hasText: /Ln \d+, Col/ }).first().textContent();
    log("opened at", ln.trim());
    result.steps.push({ search: hitText, opened: ln.trim() });

    // Scry: Ask, streamed into a panel with clickable sources.
    await palette(page, "Scry: Ask");
    const box = page.locator(".quick-input-widget input");
    await box.waitFor({ state: "visible" });
    await box.fill("What does route_request return for /health?");
    await page.keyboard.press("Enter");
    await page.locator(".tabs-container .tab", { hasText: "Scry: Ask" }).waitFor({ timeout: 20000 });
    // The webview's document lives in nested iframes; find the one with the answer.
    let frame;
    const deadline = Date.now() + 120000;
    let answer = "";
    while (Date.now() < deadline) {
      frame = page.frames().find((f) => f.url().includes("webview") && f !== page.mainFrame());
      for (const f of page.frames()) {
        try {
          // While the model streams, the panel shows the partial answer and a cursor.
          if (!result.streamed && (await f.locator("#answer .cursor").count()) > 0) {
            result.streamed = (await f.locator("#answer").textContent()).trim();
            log("streaming:", result.streamed.slice(0, 80));
          }
          const sources = await f.locator("ol.sources a.source").count();
          if (sources > 0) {
            frame = f;
            answer = (await f.locator("#answer").textContent()).trim();
            break;
          }
        } catch { /* detached frames */ }
      }
      if (answer) break;
      await page.waitForTimeout(100);
    }
    if (!answer) throw new Error("no answer with sources appeared in the Ask panel");
    log("answer:", answer.slice(0, 200));
    const firstSource = (await frame.locator("ol.sources a.source").first().textContent()).trim();
    log("first source:", firstSource);
    await shot(page, "ask.png");
    result.steps.push({ answer, firstSource });
    await frame.locator("ol.sources a.source").first().click();
    const sourceFile = firstSource.split(":")[0].split("/").pop();
    await page.locator(".tabs-container .tab.active", { hasText: sourceFile }).first().waitFor({ timeout: 20000 });
    // The answer is still on screen beside it.
    await page.locator(".tabs-container .tab", { hasText: "Scry: Ask" }).first().waitFor({ timeout: 5000 });
    log("source opened:", sourceFile);
    await shot(page, "final.png");
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack || e);
    log("FAILED:", result.error);
    try { await shot(page, "failure.png"); } catch { /* ignore */ }
  } finally {
    fs.writeFileSync(path.join(out, "result.json"), JSON.stringify(result, null, 2));
    await browser.close();
    process.exit(result.ok ? 0 : 1);
  }
})();
