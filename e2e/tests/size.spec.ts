// Size budget of what the browser downloads: wasm + js + css, gzip.
//
// The app comes in two parts (docs/app.md, "Two parts"): the page, which is
// all the first screen needs, and the worker (the engine and its
// cryptography), which loads once that screen is up, while the user reads
// or types. The goal, 300 KB, is for the first screen; the whole is held to
// its measured size so that any growth fails here and has to be looked at.
import { test, expect } from "@playwright/test";
import { siteSizes } from "./relay";

const FIRST_SCREEN_GOAL_GZIP_BYTES = 300_000;
// Measured 675,613 B with the worker split (2026-12-02), plus about 0.7 %.
const TOTAL_CEILING_GZIP_BYTES = 680_400;

test("wasm + js + css: the first screen within 300 KB gzip, the whole within its ceiling", () => {
  const { files, firstScreen, total } = siteSizes();
  const lines = files.map((f) => `${f.worker ? "worker" : "page  "} ${f.name}: ${f.raw} B raw, ${f.gzip} B gzip`);
  console.log(
    lines.join("\n") +
      `\nfirst screen gzip: ${firstScreen} B (goal ${FIRST_SCREEN_GOAL_GZIP_BYTES} B)` +
      `\ntotal gzip: ${total} B (ceiling ${TOTAL_CEILING_GZIP_BYTES} B)`,
  );
  expect(lines.filter((l) => l.includes(".wasm")).length).toBe(2);
  expect(lines.some((l) => l.startsWith("worker") && l.includes("_bg.wasm"))).toBe(true);
  expect(firstScreen).toBeLessThanOrEqual(FIRST_SCREEN_GOAL_GZIP_BYTES);
  expect(total).toBeLessThanOrEqual(TOTAL_CEILING_GZIP_BYTES);
});
