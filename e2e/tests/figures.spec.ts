// Figures for the release note, printed and saved as figures.json:
// cold load to interactive, gzip size of wasm + js + css (the first
// screen's, and with the worker), and the time from
// opening a join link to the conversation list, typing excluded.
import { test, expect } from "@playwright/test";
import { writeFileSync } from "node:fs";
import { RelayProcess, siteSizes } from "./relay";
import { joinByLink } from "./journey";

let relay: RelayProcess;

test.beforeAll(async () => {
  relay = await RelayProcess.start();
});

test.afterAll(async () => {
  await relay?.dispose();
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

test("figures: cold load, download size, join time", async ({ browser }, info) => {
  test.setTimeout(180_000);

  // Cold load: a fresh browser context (empty cache) each time; "interactive"
  // is the app's own mark when its first usable screen is rendered.
  const loads: number[] = [];
  for (let i = 0; i < 7; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(relay.origin + "/");
    await page.waitForFunction(() => performance.getEntriesByName("estafette-interactive").length > 0);
    loads.push(await page.evaluate(() => performance.getEntriesByName("estafette-interactive")[0]!.startTime));
    await context.close();
  }

  // The first screen needs the page's files; the worker's load after it.
  const { firstScreen: firstScreenGzip, total: gzip } = siteSizes();

  const joins: number[] = [];
  for (let i = 0; i < 3; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    joins.push(await joinByLink(page, await relay.invite(`mesure.${i}@numerique.gouv.fr`, `Mesure ${i}`)));
    await context.close();
  }

  const figures = {
    coldLoadToInteractiveMs: { median: Math.round(median(loads)), runs: loads.map(Math.round) },
    firstScreenGzipBytes: firstScreenGzip,
    downloadGzipBytes: gzip,
    joinLinkToConversationListMs: { median: Math.round(median(joins)), runs: joins.map(Math.round) },
  };
  console.log(
    [
      "Estafette figures (localhost, headless Chromium)",
      `  cold load to interactive: median ${figures.coldLoadToInteractiveMs.median} ms (runs ${loads.map(Math.round).join(", ")})`,
      `  first screen gzip:        ${(firstScreenGzip / 1024).toFixed(1)} KiB (${firstScreenGzip} B): wasm + js + css of the page`,
      `  wasm + js + css gzip:     ${(gzip / 1024).toFixed(1)} KiB (${gzip} B): page and worker`,
      `  join link -> list:        median ${figures.joinLinkToConversationListMs.median} ms, typing excluded (runs ${joins.map(Math.round).join(", ")})`,
    ].join("\n"),
  );
  writeFileSync(info.outputPath("figures.json"), JSON.stringify(figures, null, 2));
  expect(loads.length).toBe(7);
});
