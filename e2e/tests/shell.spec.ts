// The app shell against the real relay: connection indicator through a relay
// restart and a network loss, language switch, accessibility, no third-party
// request, no console error.
import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { RelayProcess } from "./relay";

let relay: RelayProcess;

test.beforeAll(async () => {
  relay = await RelayProcess.start();
});

test.afterAll(async () => {
  await relay?.dispose();
});

/** Every request and console error of a page, for the final checks. */
function watch(page: Page) {
  const requests: string[] = [];
  const consoleErrors: { text: string; relayDown: boolean }[] = [];
  const state = { relayDown: false };
  page.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => requests.push(ws.url()));
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push({ text: m.text(), relayDown: state.relayDown });
  });
  page.on("pageerror", (e) => consoleErrors.push({ text: `uncaught: ${e.message}`, relayDown: false }));
  return { requests, consoleErrors, state };
}

async function expectNoSeriousA11yViolation(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`), `axe on ${label}`).toEqual([]);
}

test("the shell connects, survives a relay restart and a network loss, and is accessible", async ({ page, context }, info) => {
  const seen = watch(page);
  const indicator = page.getByTestId("connection");

  await page.goto(relay.origin + "/");
  await expect(page).toHaveTitle("Estafette");
  await expect(page.locator("html")).toHaveAttribute("lang", "fr");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Bienvenue sur Estafette");
  await expect(indicator).toHaveAttribute("data-state", "connected");
  await expect(indicator).toHaveText(/connecté/i);
  await expectNoSeriousA11yViolation(page, "home (fr)");
  await page.screenshot({ path: info.outputPath("home-fr.png"), fullPage: true });

  // English, then back; the choice survives a reload.
  await page.getByTestId("language-switch").click();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(indicator).toHaveText(/connected/i);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Welcome to Estafette");
  await expectNoSeriousA11yViolation(page, "home (en)");
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Welcome to Estafette");
  await page.getByTestId("language-switch").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("html")).toHaveAttribute("lang", "fr");
  await expect(indicator).toHaveAttribute("data-state", "connected");

  // The relay stops: the indicator says so, then recovers when it is back.
  seen.state.relayDown = true;
  expect(await relay.down()).toBe(0);
  await expect(indicator).toHaveAttribute("data-state", "reconnecting");
  await expect(indicator).toHaveText(/reconnexion/i);
  await page.screenshot({ path: info.outputPath("reconnecting.png") });
  await relay.up();
  await expect(indicator).toHaveAttribute("data-state", "connected", { timeout: 30_000 });
  seen.state.relayDown = false;

  // The browser loses the network: offline, then connected again.
  await context.setOffline(true);
  await expect(indicator).toHaveAttribute("data-state", "offline");
  await expect(indicator).toHaveText(/hors ligne/i);
  await context.setOffline(false);
  await expect(indicator).toHaveAttribute("data-state", "connected", { timeout: 30_000 });

  // Only the relay's origin was ever contacted (a `blob:` of it is the
  // worker's script, built by the page).
  const relayOrigins = [relay.origin, relay.origin.replace("http:", "ws:"), `blob:${relay.origin}`];
  const foreign = seen.requests.filter((url) => !relayOrigins.some((o) => url === o || url.startsWith(o + "/")));
  expect(foreign, "requests to other origins").toEqual([]);
  expect(seen.requests.some((u) => u.endsWith(".wasm"))).toBe(true);

  // No console error, except the browser's own report of a refused WebSocket
  // while the relay was down (or the network off) — expected and shown to the user.
  const unexpected = seen.consoleErrors.filter(
    (e) => !(e.relayDown && /WebSocket connection to '.*' failed/.test(e.text)),
  );
  expect(unexpected.map((e) => e.text)).toEqual([]);
});

test("a worker that cannot load ends on a clear explanation, and a reload recovers", async ({ page, context }, info) => {
  // The worker's wasm fails to download (an interrupted network, a proxy):
  // the page must not wait forever.
  const blocked = "**/estafette-worker-*_bg.wasm";
  await context.route(blocked, (route) => route.abort());
  await page.goto(relay.origin + "/#/join/some-token");
  const screen = page.getByTestId("unavailable");
  await expect(screen).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Estafette n’a pas pu démarrer");
  await expect(screen.getByRole("alert")).toHaveText(
    "Une partie de l’application n’a pas pu être chargée dans ce navigateur. Rechargez la page ; si cela persiste, contactez votre administrateur.",
  );
  await expectNoSeriousA11yViolation(page, "worker unavailable");
  await page.screenshot({ path: info.outputPath("worker-unavailable.png"), fullPage: true });
  await page.getByTestId("language-switch").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Estafette could not start");

  await context.unroute(blocked);
  await page.getByTestId("reload").click();
  await expect(page.getByTestId("join-start")).toBeVisible();
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "connected");
});

test("a worker script or wasm changed on the way is refused", async ({ browser }) => {
  // The page checks the worker's glue against index.html, and the worker
  // its wasm: a proxy or cache that alters either gets the dead end, not a
  // worker running unchecked code next to the keys. A trailing newline is
  // still valid JS, so the glue case passes only through the integrity
  // check; a changed wasm would also fail to compile, so that case only
  // shows the page ends on the same screen.
  for (const pattern of ["**/estafette-worker-*.js", "**/estafette-worker-*_bg.wasm"]) {
    const context = await browser.newContext();
    await context.route(pattern, async (route) => {
      const response = await route.fetch();
      const body = Buffer.concat([await response.body(), Buffer.from("\n")]);
      await route.fulfill({ response, body });
    });
    const page = await context.newPage();
    await page.goto(relay.origin + "/");
    await expect(page.getByTestId("unavailable"), pattern).toBeVisible();
    await context.close();
  }
});

test("the page is served with the security headers", async ({ request }) => {
  const response = await request.get(relay.origin + "/");
  const headers = response.headers();
  const csp = headers["content-security-policy"] ?? "";
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("worker-src 'self' blob:");
  expect(csp).toContain("object-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  const html = await response.text();
  // Every script and the wasm carry Subresource Integrity; no inline script.
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  expect(scripts.length).toBeGreaterThan(0);
  for (const tag of scripts) {
    expect(tag).toMatch(/\ssrc="[^"]+"/);
    expect(tag).toMatch(/\sintegrity="sha384-[A-Za-z0-9+/=]+"/);
  }
  expect(html).toMatch(/<link rel="preload" href="[^"]+\.wasm"[^>]*integrity="sha384-/);
  expect(html).toMatch(/<link rel="modulepreload"[^>]*integrity="sha384-/);
  // The worker's glue and wasm too (the page checks both before it runs them).
  expect(html).toMatch(
    /<meta name="estafette-worker" content="\/estafette-worker-[0-9a-f]{16}\.js" data-integrity="sha384-[A-Za-z0-9+/=]+" data-wasm="\/estafette-worker-[0-9a-f]{16}_bg\.wasm" data-wasm-integrity="sha384-[A-Za-z0-9+/=]+" \/>/,
  );
});
