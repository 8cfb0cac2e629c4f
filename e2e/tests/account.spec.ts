// The account journeys against the real relay: join by an invitation link
// (and the refusal of a used or invalid link), lock and unlock with a wrong
// passphrase, auto-lock, settings, and "sign out and erase".
import { test, expect } from "@playwright/test";
import { RelayProcess } from "./relay";
import {
  PASSPHRASE,
  browserStorage,
  expectNoSeriousA11yViolation,
  expectOnlyOrigin,
  joinByLink,
  unlock,
  watch,
} from "./journey";

let relay: RelayProcess;

test.beforeAll(async () => {
  relay = await RelayProcess.start();
});

test.afterAll(async () => {
  await relay?.dispose();
});

test("a new user joins by link in a few steps; the used link is then refused", async ({ page, browser }, info) => {
  const seen = watch(page);
  const link = await relay.invite("alice.martin@interieur.gouv.fr", "Alice Martin");

  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Bienvenue sur Estafette");
  await expect(page.getByTestId("join-start")).toBeFocused();
  await expectNoSeriousA11yViolation(page, "join welcome");
  await page.screenshot({ path: info.outputPath("join-1-welcome.png"), fullPage: true });

  // Keyboard only: Enter on the focused button.
  await page.keyboard.press("Enter");
  const passphrase = page.getByTestId("new-passphrase");
  await expect(passphrase).toBeFocused();
  await passphrase.fill("aaaa");
  await page.getByTestId("join-create").click();
  await expect(page.getByRole("alert")).toContainText("ne respecte pas encore");
  await expect(page.locator(".rules li.ok")).toHaveCount(0);
  await passphrase.fill(PASSPHRASE);
  await page.getByTestId("confirm-passphrase").fill(PASSPHRASE);
  await expect(page.locator(".rules li.ok")).toHaveCount(3);
  await expect(page.locator(".strength")).toHaveAttribute("data-score", "4");
  await expectNoSeriousA11yViolation(page, "join passphrase");
  await page.screenshot({ path: info.outputPath("join-2-passphrase.png"), fullPage: true });

  await page.getByTestId("confirm-passphrase").press("Enter");
  const name = page.getByTestId("display-name");
  await expect(name).toHaveValue("Alice Martin", { timeout: 30_000 });
  // The spent link does not stay in the address bar or history.
  expect(page.url()).not.toContain("/join/");
  await expectNoSeriousA11yViolation(page, "join display name");
  await page.screenshot({ path: info.outputPath("join-3-name.png"), fullPage: true });
  await page.getByTestId("join-finish").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Conversations");
  await expect(page.getByTestId("conversations-empty")).toBeVisible();
  await expect(page.getByText("Connecté en tant que Alice Martin")).toBeVisible();
  await expectNoSeriousA11yViolation(page, "conversation list (empty)");
  await page.screenshot({ path: info.outputPath("join-4-list.png"), fullPage: true });

  // The same link in another browser: clear explanation, nothing stored.
  const other = await browser.newContext();
  const second = await other.newPage();
  await second.goto(link);
  await second.getByTestId("join-start").click();
  await second.getByTestId("new-passphrase").fill(PASSPHRASE);
  await second.getByTestId("confirm-passphrase").fill(PASSPHRASE);
  await second.getByTestId("join-create").click();
  await expect(second.getByTestId("join-error")).toHaveText(
    "Ce lien d’invitation a déjà servi. Demandez-en un nouveau à votre administrateur.",
    { timeout: 30_000 },
  );
  await expectNoSeriousA11yViolation(second, "join refused");
  await second.screenshot({ path: info.outputPath("join-5-used-link.png"), fullPage: true });
  expect((await browserStorage(second)).databases).toEqual([]);
  // In English too.
  await second.getByTestId("language-switch").click();
  await expect(second.getByTestId("join-error")).toHaveText(
    "This invitation link was already used. Ask your administrator for a new one.",
  );

  // A truncated link.
  await second.goto(relay.origin + "/#/join/not-a-real-token");
  await second.getByTestId("join-start").click();
  await second.getByTestId("new-passphrase").fill(PASSPHRASE);
  await second.getByTestId("confirm-passphrase").fill(PASSPHRASE);
  await second.getByTestId("join-create").click();
  await expect(second.getByTestId("join-error")).toContainText("not valid", { timeout: 30_000 });
  await other.close();

  expectOnlyOrigin(seen.requests, relay.origin);
  expect(seen.consoleErrors).toEqual([]);
});

test("lock, wrong passphrase with a growing delay, unlock, auto-lock, settings, erase", async ({ page }, info) => {
  const seen = watch(page);
  // Timers are Playwright's from the start (time flows normally), so that
  // moving the clock forward later does not mix fake and real timers.
  await page.clock.install();
  await joinByLink(page, await relay.invite("bruno.petit@finances.gouv.fr", "Bruno Petit"));

  // The lock button.
  await page.getByTestId("lock").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Déverrouiller Estafette");
  await expect(page.getByTestId("unlock-reason")).toHaveText("Session verrouillée.");
  await expect(page.getByTestId("passphrase")).toBeFocused();

  // Wrong passphrase: an error, then a delay before the next try that grows.
  await page.getByTestId("passphrase").fill("pas la bonne phrase");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("unlock-error")).toContainText("Phrase de passe incorrecte.", { timeout: 20_000 });
  await expect(page.getByTestId("unlock-wait")).toContainText("1 s");
  await expect(page.getByTestId("unlock")).toBeDisabled();
  await expectNoSeriousA11yViolation(page, "unlock with error");
  await page.screenshot({ path: info.outputPath("unlock-wrong.png"), fullPage: true });
  await expect(page.getByTestId("unlock")).toBeEnabled({ timeout: 5_000 });
  await page.getByTestId("passphrase").fill("toujours pas la bonne");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("unlock-wait")).toContainText("2 s", { timeout: 20_000 });
  // A reload does not reset the count: the next wrong try waits 4 s.
  await page.reload();
  await expect(page.getByTestId("unlock")).toBeEnabled({ timeout: 5_000 });
  await page.getByTestId("passphrase").fill("encore une erreur");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("unlock-wait")).toContainText(/[34] s/, { timeout: 20_000 });
  await expect(page.getByTestId("unlock")).toBeEnabled({ timeout: 6_000 });
  await unlock(page);

  // Settings: the lock delay is kept (sealed) across a reload.
  await page.getByTestId("settings-link").click();
  await expect(page.getByRole("heading", { level: 2 })).toHaveText("Réglages");
  await expect(page.getByTestId("lock-delay")).toHaveValue("10");
  await page.getByTestId("lock-delay").selectOption("1");
  await expect(page.getByTestId("devices").locator("li")).toHaveCount(1);
  await expect(page.getByTestId("devices")).toContainText("Cet appareil");
  await expectNoSeriousA11yViolation(page, "settings");
  await page.screenshot({ path: info.outputPath("settings.png"), fullPage: true });
  await page.reload();
  await expect(page.getByTestId("unlock-reason")).toHaveText(/Saisissez votre phrase de passe/);
  await unlock(page);
  await page.goto(relay.origin + "/#/settings");
  await expect(page.getByTestId("lock-delay")).toHaveValue("1");

  // Auto-lock: one minute without activity (the clock is moved forward).
  await page.clock.fastForward("01:05");
  await expect(page.getByTestId("unlock-reason")).toHaveText(/inactivité/, { timeout: 10_000 });
  await unlock(page);

  // Sign out and erase: leave something in each kind of storage first.
  await page.getByTestId("language-switch").click(); // localStorage
  await page.getByTestId("language-switch").click();
  await page.evaluate(async () => {
    sessionStorage.setItem("draft", "x");
    await (await caches.open("estafette-test")).put("/probe", new Response("x"));
  });
  const before = await browserStorage(page);
  expect(before.databases).toContain("estafette");
  expect(before.localStorage).toBeGreaterThan(0);
  expect(before.caches).toEqual(["estafette-test"]);
  await page.getByTestId("settings-link").click();
  await page.getByTestId("erase").click();
  await expect(page.getByTestId("erase-confirm")).toBeFocused();
  await page.screenshot({ path: info.outputPath("erase-confirm.png"), fullPage: true });
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("erased-notice")).toBeVisible({ timeout: 15_000 });
  expect(await browserStorage(page)).toEqual({ databases: [], localStorage: 0, sessionStorage: 0, caches: [] });
  await page.screenshot({ path: info.outputPath("erased.png"), fullPage: true });
  // A reload finds nothing: the landing page, and still nothing stored.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Bienvenue sur Estafette");
  expect(await browserStorage(page)).toEqual({ databases: [], localStorage: 0, sessionStorage: 0, caches: [] });

  expectOnlyOrigin(seen.requests, relay.origin);
  expect(seen.consoleErrors).toEqual([]);
});

test("every screen works at 360 px wide", async ({ browser }, info) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await joinByLink(page, await relay.invite("chloe.durand@culture.gouv.fr", "Chloé Durand"));
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.screenshot({ path: info.outputPath("narrow-list.png") });
  await page.getByTestId("new-conversation").click();
  await expect(page.getByTestId("directory-search")).toBeFocused();
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.screenshot({ path: info.outputPath("narrow-new.png") });
  await page.getByTestId("settings-link").click();
  expect(await overflow()).toBeLessThanOrEqual(0);
  await expectNoSeriousA11yViolation(page, "settings at 360 px");
  await page.screenshot({ path: info.outputPath("narrow-settings.png"), fullPage: true });
  await page.getByTestId("lock").click();
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.screenshot({ path: info.outputPath("narrow-unlock.png") });
  await context.close();
});

test("a revoked account stops at once with an explanation, and can be erased", async ({ page }, info) => {
  await joinByLink(page, await relay.invite("dora.blanc@justice.gouv.fr", "Dora Blanc"));
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "connected");
  await relay.revoke("dora.blanc@justice.gouv.fr");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Compte indisponible", { timeout: 15_000 });
  await expect(page.getByRole("alert")).toContainText("désactivé");
  await expectNoSeriousA11yViolation(page, "stopped");
  await page.screenshot({ path: info.outputPath("stopped.png") });
  await page.getByTestId("erase").click();
  await page.getByTestId("erase-confirm").click();
  await expect(page.getByTestId("erased-notice")).toBeVisible({ timeout: 15_000 });
  expect((await browserStorage(page)).databases).toEqual([]);
});
