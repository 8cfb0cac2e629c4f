// Size budget of what the browser downloads: wasm + js + css, gzip.
import { test, expect } from "@playwright/test";
import { readdirSync, readFileSync } from "node:fs";
import { join, extname } from "node:path";
import { gzipSync } from "node:zlib";
import { siteDir } from "./relay";

// The goal is 300 KB. With every screen and the whole engine (join, messenger,
// sessions, IndexedDB) linked, the total is about 509 KB: roughly half
// engine and cryptography, half Leptos view code. This ceiling catches
// regressions while the size work is pending (docs/app.md, "Figures").
const BUDGET_GZIP_BYTES = 520_000;

test("wasm + js + css stay within the gzip budget", () => {
  let total = 0;
  const lines: string[] = [];
  for (const name of readdirSync(siteDir)) {
    if (![".wasm", ".js", ".css"].includes(extname(name))) continue;
    const bytes = readFileSync(join(siteDir, name));
    const gz = gzipSync(bytes, { level: 9 }).length;
    total += gz;
    lines.push(`${name}: ${bytes.length} B raw, ${gz} B gzip`);
  }
  console.log(lines.join("\n") + `\ntotal gzip: ${total} B (budget ${BUDGET_GZIP_BYTES} B)`);
  expect(lines.some((l) => l.includes(".wasm"))).toBe(true);
  expect(total).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
});
