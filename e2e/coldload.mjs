// Cold load, in detail: a fresh context per load, then the timeline of each
// (HTML received, DOMContentLoaded, page wasm received, main() started, app
// mounted, first screen usable) and the median. Against a running relay:
//   make run    # then, in e2e/:
//   node coldload.mjs http://127.0.0.1:8080/ 15
// figures.spec.ts reports the same "interactive" mark inside the test runner.
import { chromium } from "playwright-core";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless","--no-sandbox","--disable-gpu","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"] });
const rows = [];
for (let i = 0; i < Number(process.argv[3] ?? 11); i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(process.argv[2] ?? "http://127.0.0.1:8099/");
  await page.waitForFunction(() => performance.getEntriesByName("estafette-interactive").length > 0);
  rows.push(await page.evaluate(() => {
    const m = (n) => Math.round(performance.getEntriesByName(n)[0]?.startTime ?? -1);
    const r = performance.getEntriesByType("resource").filter(e => e.name.endsWith(".wasm")).map(e => Math.round(e.responseEnd));
    const nav = performance.getEntriesByType("navigation")[0];
    return { html: Math.round(nav.responseEnd), dcl: Math.round(nav.domContentLoadedEventEnd), wasm: r.join("/"), start: m("estafette-start"), mounted: m("estafette-mounted"), interactive: m("estafette-interactive") };
  }));
  await context.close();
}
await browser.close();
for (const r of rows) console.log(JSON.stringify(r));
const s = rows.map(r => r.interactive).sort((a, b) => a - b);
console.log("median interactive", s[Math.floor(s.length / 2)], "min", s[0], "max", s[s.length - 1]);
