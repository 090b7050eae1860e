// End-to-end: assurance in the pages. A step-up before deleting an account, and a tier3 policy
// refusing a synced passkey with a sentence that says why.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  installSwitches, launchBrowser, newSession, ready, screenshot, setSwitches, startServer,
} from "./support/harness.js";

async function signUpOnPage(page, base, username) {
  await page.goto(`${base}/static/signup.html`);
  await ready(page);
  await page.getByLabel("Username").fill(username);
  await page.getByRole("button", { name: "Create a passkey" }).click();
}

describe("step-up in Chromium", { timeout: 180_000 }, () => {
  let server;
  let browser;
  let s;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    s = await newSession(browser);
    await installSwitches(s.context);
    await s.addAuthenticator({ defaultBackupEligibility: true, defaultBackupState: true });
  });

  after(async () => {
    if (s && s.errors.length) console.error("# page errors:", s.errors);
    await browser?.close();
    await server?.stop();
  });

  test("deleting the account asks for the passkey again, then deletes it", async () => {
    const page = s.page;
    await page.goto(server.base);
    await setSwitches(page, ["no-autofill"]);
    await signUpOnPage(page, server.base, "stella");
    await page.waitForURL(`${server.base}/static/account.html`);
    await ready(page);
    // The assurance of the sign-in is shown: a synced passkey, user verified, AAL2.
    const assurance = page.locator("#assurance");
    await assurance.waitFor();
    assert.match(await assurance.textContent(), /Assurance level 2/);
    assert.match(await assurance.textContent(), /synced passkey/);

    // Without a step-up the server refuses; the page asks for the passkey and retries.
    const refusals = [];
    page.on("response", (r) => {
      if (r.url().endsWith("/api/account") && r.status() === 403) refusals.push(r.status());
    });
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.locator("#confirm-delete").waitFor();
    await page.getByRole("button", { name: "Delete account" }).click();
    const prompt = page.locator("#stepup");
    await prompt.waitFor();
    assert.match(await prompt.textContent(), /Confirm it's you/);
    await screenshot(page, "20-step-up-prompt");
    // The step-up answer is read on its way to the page: once the page has it, it deletes the
    // account and navigates away, after which the browser no longer holds the response body.
    let stepped;
    await page.route("**/api/webauthn/stepup/finish", async (route) => {
      const response = await route.fetch();
      stepped = { status: response.status(), body: await response.json() };
      await route.fulfill({ response });
    });
    await page.getByRole("button", { name: "Continue with passkey" }).click();
    await page.waitForURL(`${server.base}/`);
    await page.unroute("**/api/webauthn/stepup/finish");
    assert.equal(stepped?.status, 200);
    assert.equal(stepped.body.elevation.action, "delete_account");
    await ready(page);
    assert.deepEqual(refusals, [403], "the first delete was refused for lack of a step-up");
    assert.match(await page.locator("#status").textContent(), /account was deleted/);
    const status = await page.evaluate(async () => (await fetch("/api/session")).status);
    assert.equal(status, 401);
    await screenshot(page, "21-account-deleted");
  });

  test("cancelling the step-up prompt keeps the account", async () => {
    const page = s.page;
    await signUpOnPage(page, server.base, "stella2");
    await page.waitForURL(`${server.base}/static/account.html`);
    await ready(page);
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.getByRole("button", { name: "Delete account" }).click();
    await page.locator("#stepup").waitFor();
    await page.getByRole("button", { name: "Cancel" }).click();
    const status = await page.evaluate(async () => (await fetch("/api/session")).status);
    assert.equal(status, 200);
    assert.equal(await page.url(), `${server.base}/static/account.html`);
  });
});

describe("a tier3 policy in Chromium", { timeout: 120_000 }, () => {
  let server;
  let browser;
  let s;

  before(async () => {
    server = await startServer({ config: "[policy]\ndefault_tier = \"tier3\"\n" });
    browser = await launchBrowser();
    s = await newSession(browser);
    await installSwitches(s.context);
    await s.addAuthenticator({ defaultBackupEligibility: true, defaultBackupState: true });
  });

  after(async () => {
    if (s && s.errors.length) console.error("# page errors:", s.errors);
    await browser?.close();
    await server?.stop();
  });

  test("a synced passkey is refused with a plain explanation", async () => {
    const page = s.page;
    await page.goto(server.base);
    await setSwitches(page, ["no-autofill"]);
    const finish = page.waitForResponse((r) => r.url().endsWith("/api/webauthn/register/finish"));
    await signUpOnPage(page, server.base, "tom");
    const response = await finish;
    assert.equal(response.status(), 403);
    const body = await response.json();
    assert.equal(body.error, "policy_refused");
    const error = page.locator("#error");
    await error.filter({ hasText: /\S/ }).waitFor();
    const shown = (await error.textContent()).trim();
    assert.equal(shown, body.message);
    assert.match(shown, /synced/);
    await screenshot(page, "22-tier3-refuses-synced");
    const status = await page.evaluate(async () => (await fetch("/api/session")).status);
    assert.equal(status, 401, "no account and no session were created");
  });
});
