// The main two-browser journey: Alice and Bob join by links, find each other
// in the directory, exchange messages both ways, watch ticks reach "read",
// Bob goes offline and receives what was sent meanwhile, and a reload plus
// unlock keeps the history.
import { test, expect, type Page } from "@playwright/test";
import { RelayProcess } from "./relay";
import { expectNoSeriousA11yViolation, expectOnlyOrigin, joinByLink, unlock, watch } from "./journey";

let relay: RelayProcess;

test.beforeAll(async () => {
  relay = await RelayProcess.start();
});

test.afterAll(async () => {
  await relay?.dispose();
});

async function send(page: Page, text: string) {
  const composer = page.getByTestId("composer");
  await composer.fill(text);
  await composer.press("Enter");
  await expect(composer).toHaveValue("");
}

function messages(page: Page) {
  return page.getByTestId("messages").getByTestId("message");
}

test("Alice and Bob chat both ways, ticks reach read, offline delivery, history after unlock", async ({ browser }, info) => {
  test.setTimeout(180_000);
  const aliceContext = await browser.newContext();
  // Bob uses the dark theme on a narrow screen: the same journey there.
  const bobContext = await browser.newContext({ colorScheme: "dark", viewport: { width: 390, height: 760 } });
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  const seenAlice = watch(alice);
  const seenBob = watch(bob);

  await joinByLink(alice, await relay.invite("alice.martin@interieur.gouv.fr", "Alice Martin"));
  await joinByLink(bob, await relay.invite("bob.leroy@interieur.gouv.fr", "Bob Leroy"));
  await expect(alice.getByTestId("connection")).toHaveAttribute("data-state", "connected");

  // Alice finds Bob in the directory, by name, with the keyboard.
  await alice.getByTestId("new-conversation").click();
  await alice.getByTestId("directory-search").fill("Bob");
  const result = alice.getByTestId("directory-result");
  await expect(result).toHaveCount(1);
  await expect(result).toContainText("bob.leroy@interieur.gouv.fr");
  await expectNoSeriousA11yViolation(alice, "directory search");
  await alice.screenshot({ path: info.outputPath("chat-1-search.png") });
  await alice.keyboard.press("Tab"); // from the search field to the first result
  await expect(result).toBeFocused();
  await alice.keyboard.press("Enter");
  await expect(alice.getByTestId("chat-title")).toHaveText("Bob Leroy");
  await expect(alice.getByTestId("composer")).toBeFocused();

  // A two-line message (Shift+Enter), then a link and would-be HTML.
  await alice.keyboard.type("Bonjour Bob,");
  await alice.keyboard.press("Shift+Enter");
  await alice.keyboard.type("as-tu reçu la note ?");
  await alice.keyboard.press("Enter");
  await send(alice, "Elle est ici : https://www.service-public.fr/note. <img src=x onerror=alert(1)>");
  await expect(messages(alice)).toHaveCount(2);
  await expect(messages(alice).first()).toHaveAttribute("data-state", /sent|delivered|read/);

  // Bob sees the conversation with an unread badge, opens it, reads.
  const entry = bob.getByTestId("conversation").filter({ hasText: "Alice Martin" });
  await expect(entry.getByTestId("unread")).toContainText("2", { timeout: 30_000 });
  await expect(bob).toHaveTitle("(2) Estafette");
  await bob.screenshot({ path: info.outputPath("chat-2-unread.png") });
  // Nothing runs off a narrow screen, however long the preview.
  for (const part of [entry.getByTestId("unread"), bob.getByTestId("new-conversation")]) {
    const box = await part.boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
  }
  await entry.click();
  await expect(messages(bob)).toHaveCount(2);
  await expect(bob).toHaveTitle("Estafette");
  await expect(messages(bob).first().locator(".msg-text")).toHaveText("Bonjour Bob,\nas-tu reçu la note ?");
  const link = messages(bob).nth(1).locator("a");
  await expect(link).toHaveAttribute("href", "https://www.service-public.fr/note");
  await expect(link).toHaveAttribute("rel", "noopener noreferrer");
  await expect(messages(bob).nth(1).locator("img")).toHaveCount(0);
  await expect(messages(bob).nth(1)).toContainText("<img src=x onerror=alert(1)>");
  await expect(bob.getByTestId("live-region")).toContainText("Alice Martin");
  await expectNoSeriousA11yViolation(bob, "chat (dark, narrow)");

  // Alice's ticks reach "read".
  await expect(messages(alice).nth(1)).toHaveAttribute("data-state", "read", { timeout: 30_000 });
  await expect(messages(alice).first()).toHaveAttribute("data-state", "read");

  // Bob types: Alice sees it. Bob answers.
  await bob.getByTestId("composer").pressSequentially("Oui", { delay: 30 });
  await expect(alice.getByTestId("typing")).toBeVisible({ timeout: 10_000 });
  await bob.getByTestId("composer").press("Enter");
  await expect(messages(alice)).toHaveCount(3, { timeout: 30_000 });
  await expect(messages(alice).nth(2)).toHaveAttribute("data-mine", "false");
  await expect(alice.getByTestId("typing")).toHaveCount(0, { timeout: 10_000 });
  await expectNoSeriousA11yViolation(alice, "chat");
  await alice.screenshot({ path: info.outputPath("chat-3-alice.png") });
  await bob.screenshot({ path: info.outputPath("chat-3-bob.png") });

  // Bob goes offline: banner; Alice's messages wait for him.
  await bobContext.setOffline(true);
  await expect(bob.getByTestId("offline-banner")).toBeVisible({ timeout: 15_000 });
  await bob.screenshot({ path: info.outputPath("chat-4-bob-offline.png") });
  for (const text of ["Message 1 pendant ton absence", "Message 2", "Message 3"]) await send(alice, text);
  await expect(messages(alice).last()).toHaveAttribute("data-state", "sent", { timeout: 15_000 });
  await bobContext.setOffline(false);
  await expect(messages(bob)).toHaveCount(6, { timeout: 45_000 });
  await expect(messages(bob).last()).toContainText("Message 3");
  await expect(messages(alice).last()).toHaveAttribute("data-state", "read", { timeout: 30_000 });

  // Alice goes offline: what she writes waits (clock icon) and leaves on return.
  await aliceContext.setOffline(true);
  await expect(alice.getByTestId("offline-banner")).toBeVisible({ timeout: 15_000 });
  await send(alice, "Écrit hors ligne");
  await expect(messages(alice).last()).toHaveAttribute("data-state", "sending");
  await alice.screenshot({ path: info.outputPath("chat-5-alice-offline.png") });
  await aliceContext.setOffline(false);
  await expect(messages(alice).last()).toHaveAttribute("data-state", /sent|delivered|read/, { timeout: 30_000 });
  await expect(messages(bob)).toHaveCount(7, { timeout: 30_000 });
  await expect(messages(bob).last()).toContainText("Écrit hors ligne");

  // A reload and unlock keep the history, in order.
  // (The address still names the conversation: it opens again after unlock.)
  await bob.reload();
  await unlock(bob);
  await expect(bob.getByTestId("chat-title")).toHaveText("Alice Martin");
  await expect(messages(bob)).toHaveCount(7);
  await expect(messages(bob).nth(2)).toContainText("Oui");
  await bob.screenshot({ path: info.outputPath("chat-6-bob-after-reload.png") });

  // Everything follows the language, dates and delivery states included.
  await alice.getByTestId("language-switch").click();
  await expect(alice.locator(".day-separator h3").first()).toHaveText("Today");
  await expect(alice.getByTestId("composer")).toHaveAttribute("placeholder", "Write to Bob Leroy…");
  await expect(messages(alice).first().getByTestId("ticks")).toHaveAttribute("aria-label", "Read");
  await expectNoSeriousA11yViolation(alice, "chat (en)");
  await alice.screenshot({ path: info.outputPath("chat-7-alice-english.png") });

  expectOnlyOrigin(seenAlice.requests, relay.origin);
  expectOnlyOrigin(seenBob.requests, relay.origin);
  const unexpected = (errors: string[]) => errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e));
  expect(unexpected(seenAlice.consoleErrors)).toEqual([]);
  expect(unexpected(seenBob.consoleErrors)).toEqual([]);
  await aliceContext.close();
  await bobContext.close();
});
