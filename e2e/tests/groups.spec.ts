// Three browsers: Alice creates a group with Bob and Carol, all three chat,
// Alice makes Bob an admin and removes Carol; Carol sees that she was removed
// and receives nothing written after, while Alice and Bob go on.
import { test, expect, type Page } from "@playwright/test";
import { RelayProcess } from "./relay";
import { expectNoSeriousA11yViolation, joinByLink, watch } from "./journey";

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

function texts(page: Page) {
  return page.getByTestId("messages").getByTestId("message");
}

function lines(page: Page) {
  return page.getByTestId("messages").getByTestId("group-line");
}

async function pick(page: Page, query: string, handle: string) {
  await page.getByTestId("member-search").fill(query);
  const result = page.getByTestId("member-result").filter({ hasText: handle });
  await expect(result).toHaveCount(1);
  await result.click();
  await expect(result).toHaveAttribute("aria-pressed", "true");
}

test("three members create a group, chat, and a removed member receives nothing further", async ({ browser }, info) => {
  test.setTimeout(240_000);
  const contexts = await Promise.all([0, 1, 2].map(() => browser.newContext()));
  const [alice, bob, carol] = await Promise.all(contexts.map((c) => c.newPage()));
  for (const page of [alice, bob, carol]) watch(page);

  await joinByLink(alice, await relay.invite("alice.martin@interieur.gouv.fr", "Alice Martin"));
  await joinByLink(bob, await relay.invite("bob.leroy@interieur.gouv.fr", "Bob Leroy"));
  await joinByLink(carol, await relay.invite("carol.petit@interieur.gouv.fr", "Carol Petit"));

  // Alice creates the group from the directory.
  await alice.getByTestId("new-group").click();
  await alice.getByTestId("group-name").fill("Cellule de crise");
  await pick(alice, "Bob", "bob.leroy@interieur.gouv.fr");
  await pick(alice, "Carol", "carol.petit@interieur.gouv.fr");
  await expect(alice.getByTestId("chosen-member")).toHaveCount(2);
  await expectNoSeriousA11yViolation(alice, "new group");
  await alice.screenshot({ path: info.outputPath("groups-1-new.png") });
  await alice.getByTestId("create-group").click();
  await expect(alice.getByTestId("chat-title")).toHaveText("Cellule de crise", { timeout: 30_000 });
  await expect(lines(alice).first()).toContainText("Cellule de crise");
  await send(alice, "Bonjour à tous, point à 14 h.");
  await expect(texts(alice).last()).toHaveAttribute("data-state", "sent", { timeout: 30_000 });

  // Bob and Carol find the group in their list, with the line and the text.
  for (const page of [bob, carol]) {
    const entry = page.getByTestId("conversation").filter({ hasText: "Cellule de crise" });
    await expect(entry).toHaveCount(1, { timeout: 30_000 });
    await entry.click();
    await expect(lines(page).first()).toContainText("Alice Martin");
    await expect(texts(page)).toHaveCount(1, { timeout: 30_000 });
    await expect(texts(page).first()).toContainText("point à 14 h");
    await expect(texts(page).first()).toContainText("Alice Martin");
  }
  await expectNoSeriousA11yViolation(bob, "group chat");
  await bob.screenshot({ path: info.outputPath("groups-2-bob.png") });

  await send(bob, "Bien noté.");
  await send(carol, "Je serai là.");
  await expect(texts(alice)).toHaveCount(3, { timeout: 30_000 });
  await expect(texts(bob)).toHaveCount(3, { timeout: 30_000 });
  await expect(texts(carol)).toHaveCount(3, { timeout: 30_000 });

  // The group page: members, rights, and Alice's actions.
  await alice.getByTestId("group-info-link").click();
  await expect(alice.getByTestId("group-member")).toHaveCount(3);
  await expectNoSeriousA11yViolation(alice, "group page");
  const bobRow = alice.getByTestId("group-member").filter({ hasText: "bob.leroy@interieur.gouv.fr" });
  await bobRow.getByTestId("make-admin").click();
  await expect(bobRow.getByTestId("admin-tag")).toBeVisible({ timeout: 15_000 });
  const carolRow = alice.getByTestId("group-member").filter({ hasText: "carol.petit@interieur.gouv.fr" });
  await carolRow.getByTestId("remove-member").click();
  await carolRow.getByTestId("remove-member-confirm").click();
  await expect(alice.getByTestId("group-member")).toHaveCount(2, { timeout: 15_000 });
  await alice.screenshot({ path: info.outputPath("groups-3-members.png") });

  // Carol learns she was removed; the conversation is read-only for her.
  await expect(lines(carol).last()).toContainText("Alice Martin", { timeout: 30_000 });
  await expect(carol.getByTestId("group-left-banner")).toBeVisible({ timeout: 15_000 });
  await expect(carol.getByTestId("composer")).toBeDisabled();
  await carol.screenshot({ path: info.outputPath("groups-4-carol-removed.png") });

  // Alice and Bob go on; Carol receives nothing more.
  await alice.goBack();
  await expect(alice.getByTestId("chat-title")).toHaveText("Cellule de crise");
  await send(alice, "Carol n'est plus dans le groupe.");
  await expect(texts(bob)).toHaveCount(4, { timeout: 30_000 });
  await send(bob, "Compris.");
  await expect(texts(alice)).toHaveCount(5, { timeout: 30_000 });
  await carol.waitForTimeout(3_000);
  await expect(texts(carol)).toHaveCount(3);
  await expect(carol.getByTestId("messages")).not.toContainText("Compris.");
  await bob.screenshot({ path: info.outputPath("groups-5-bob.png") });

  // In English too.
  await bob.getByTestId("language-switch").click();
  await expect(lines(bob).last()).toContainText("removed");

  for (const context of contexts) await context.close();
});
