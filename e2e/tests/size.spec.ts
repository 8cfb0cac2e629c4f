// Size budget of what the browser downloads: wasm + js + css, gzip.
import { test, expect } from "@playwright/test";
import { readdirSync, readFileSync } from "node:fs";
import { join, extname } from "node:path";
import { gzipSync } from "node:zlib";
import { siteDir } from "./relay";

// The goal is 300 KB; the screens (join, unlock, chat) and the account code
// they link brought the total to about 401 KB (Leptos view code is the
// largest part after the cryptography). A ceiling that catches regressions
// while the size work is pending (docs/app.md, "Figures").
const BUDGET_GZIP_BYTES = 430_000;

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
