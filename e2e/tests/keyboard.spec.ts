// Keyboard only: join, find a colleague, write, lock and unlock without the
// mouse, with the focus visible at every stop.
import { test, expect, type Locator, type Page } from "@playwright/test";
import { RelayProcess } from "./relay";
import { PASSPHRASE, joinByLink } from "./journey";

let relay: RelayProcess;

test.beforeAll(async () => {
  relay = await RelayProcess.start();
});

test.afterAll(async () => {
  await relay?.dispose();
});

/** Presses `key` until `target` has the focus (at most `max` times). */
async function pressUntilFocused(page: Page, key: string, target: Locator, max = 30) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press(key);
  }
  await expect(target).toBeFocused();
}

async function expectVisibleFocus(target: Locator) {
  await expect(target).toBeFocused();
  await expect(target).toHaveCSS("outline-style", "solid");
}

test("keyboard only: join, start a conversation, write, lock, unlock", async ({ browser }, info) => {
  // The colleague to find (joined the usual way; not under test).
  const otherContext = await browser.newContext();
  const colleague = await otherContext.newPage();
  await joinByLink(colleague, await relay.invite("eve.roux@sante.gouv.fr", "Ève Roux"));

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(await relay.invite("gilles.faure@sante.gouv.fr", "Gilles Faure"));
  await expectVisibleFocus(page.getByTestId("join-start"));
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("new-passphrase")).toBeFocused();
  await page.keyboard.type(PASSPHRASE);
  await page.keyboard.press("Tab");
  await expect(page.getByTestId("confirm-passphrase")).toBeFocused();
  await page.keyboard.type(PASSPHRASE);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("display-name")).toBeFocused({ timeout: 30_000 });
  await page.keyboard.press("Enter");

  // The list's heading has the focus; the next stop is "New".
  await expect(page.getByRole("heading", { level: 1 })).toBeFocused();
  await page.keyboard.press("Tab");
  await expectVisibleFocus(page.getByTestId("new-conversation"));
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("directory-search")).toBeFocused();
  await page.keyboard.type("eve");
  await expect(page.getByTestId("directory-result")).toHaveCount(1);
  await page.keyboard.press("Tab");
  await expectVisibleFocus(page.getByTestId("directory-result"));
  await page.screenshot({ path: info.outputPath("keyboard-result-focus.png") });
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("composer")).toBeFocused();
  await page.keyboard.type("Bonjour Ève, tout au clavier.");
  await page.keyboard.press("Enter");
  await expect(colleague.getByTestId("conversation").filter({ hasText: "Gilles Faure" })).toBeVisible({ timeout: 30_000 });

  // Back to the header's lock button, then unlock.
  const lock = page.getByTestId("lock");
  await pressUntilFocused(page, "Shift+Tab", lock);
  await expectVisibleFocus(lock);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("passphrase")).toBeFocused();
  await page.keyboard.type(PASSPHRASE);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("chat-title")).toHaveText("Ève Roux", { timeout: 20_000 });
  await expect(page.getByTestId("messages").getByTestId("message")).toHaveCount(1);

  // The skip link is the first stop and leads to the screen's main control.
  await page.keyboard.press("Tab");
  await pressUntilFocused(page, "Shift+Tab", page.locator(".skip-link"));
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("composer")).toBeFocused();
  await context.close();
  await otherContext.close();
});
