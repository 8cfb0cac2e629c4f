// Shared steps of the user journeys: joining by link, accessibility checks,
// and a watch on requests and console errors.
import { expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

export const PASSPHRASE = "cheval bleu traverse la Loire 7h";

/**
 * gloo-net 0.7's WebSocket does not remove its "close" listener when dropped,
 * so a socket dropped while still open (lock, auto-lock, a reconnect) made
 * the browser call that freed closure when the close completed: an uncaught
 * error with no effect on the user (about 1 run in 10). The client now keeps
 * every socket until its close event (`transport::close_and_wait`, 60 s at
 * most); the message stays tolerated only for a close slower than that.
 */
const KNOWN_DEFECT = /closure invoked recursively or after being dropped/;

/** Every request and console error of a page, for the final checks. */
export function watch(page: Page) {
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => requests.push(ws.url()));
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => {
    if (!KNOWN_DEFECT.test(e.message)) consoleErrors.push(`uncaught: ${e.message}`);
  });
  return { requests, consoleErrors };
}

/**
 * Only the relay's origin was ever contacted. A `blob:` of that origin is
 * the worker's script, checked and built by the page: no request leaves.
 */
export function expectOnlyOrigin(requests: string[], origin: string) {
  const origins = [origin, origin.replace("http:", "ws:"), `blob:${origin}`];
  const foreign = requests.filter((url) => !origins.some((o) => url === o || url.startsWith(o + "/")));
  expect(foreign, "requests to other origins").toEqual([]);
}

export async function expectNoSeriousA11yViolation(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), `axe on ${label}`).toEqual([]);
}

/** Time spent in `step`, in milliseconds. */
export async function timed(step: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await step();
  return performance.now() - start;
}

/**
 * Joins with `link` and lands on the conversation list. Returns the time the
 * user waited (everything but typing), in milliseconds.
 */
export async function joinByLink(page: Page, link: string, passphrase = PASSPHRASE): Promise<number> {
  let waited = 0;
  waited += await timed(async () => {
    await page.goto(link);
    await expect(page.getByTestId("join-start")).toBeVisible();
  });
  waited += await timed(async () => {
    await page.getByTestId("join-start").click();
    await expect(page.getByTestId("new-passphrase")).toBeFocused();
  });
  await page.getByTestId("new-passphrase").fill(passphrase);
  await page.getByTestId("confirm-passphrase").fill(passphrase);
  waited += await timed(async () => {
    await page.getByTestId("join-create").click();
    await expect(page.getByTestId("display-name")).toBeVisible({ timeout: 30_000 });
  });
  waited += await timed(async () => {
    await page.getByTestId("join-finish").click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(/Conversations/);
  });
  return waited;
}

/** Unlocks with `passphrase` and waits for the unlocked app. */
export async function unlock(page: Page, passphrase = PASSPHRASE) {
  await page.getByTestId("passphrase").fill(passphrase);
  await page.getByTestId("unlock").click();
  await expect(page.locator(".workspace")).toBeVisible({ timeout: 20_000 });
}

/** What this origin still stores: database names, storage lengths, cache names. */
export async function browserStorage(page: Page) {
  return page.evaluate(async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name),
    localStorage: localStorage.length,
    sessionStorage: sessionStorage.length,
    caches: await caches.keys(),
  }));
}
