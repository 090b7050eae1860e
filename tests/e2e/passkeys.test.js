// End-to-end: the passkeyd pages in Debian's Chromium against `passkeyd serve`, with the DevTools
// WebAuthn virtual authenticator standing in for a platform authenticator.
//
//   npm test                       (node --test tests/e2e/)
//   PASSKEYD_BIN=/path/to/passkeyd npm test
//
// The tests run in order and share one server, one browser and one account ("alice").
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  installSwitches, launchBrowser, newSession, ready, screenshot, setSwitches, startServer,
} from "./support/harness.js";

const USER = { username: "alice", displayName: "Alice Martin" };

describe("passkeyd pages in Chromium", { timeout: 300_000 }, () => {
  let server;
  let browser;
  let s; // {context, page, cdp, errors, addAuthenticator}
  let firstAuthenticator;
  let secondAuthenticator;
  let base;

  before(async () => {
    server = await startServer();
    base = server.base;
    browser = await launchBrowser();
    s = await newSession(browser);
    await installSwitches(s.context);
    // A platform authenticator whose passkeys are backed up (synced), like a phone's or laptop's.
    firstAuthenticator = await s.addAuthenticator({ defaultBackupEligibility: true, defaultBackupState: true });
  });

  after(async () => {
    if (s && s.errors.length) console.error("# page errors:", s.errors);
    await browser?.close();
    await server?.stop();
  });

  const page = () => s.page;

  /** Credential ids of a virtual authenticator, base64url as the pages and the API show them. */
  async function credentialIds(authenticatorId) {
    const { credentials } = await s.cdp.send("WebAuthn.getCredentials", { authenticatorId });
    return credentials.map((c) => Buffer.from(c.credentialId, "base64").toString("base64url"));
  }

  async function sessionStatus() {
    return page().evaluate(async () => (await fetch("/api/session", { credentials: "same-origin" })).status);
  }

  async function passkeyRows() {
    await page().waitForSelector("#passkeys tbody tr");
    return page().$$eval("#passkeys tbody tr", (rows) => rows.map((r) => ({
      id: r.dataset.id,
      name: r.querySelector(".item-title")?.textContent.trim(),
      text: r.textContent.replace(/\s+/g, " ").trim(),
    })));
  }

  async function signOut() {
    await page().goto(`${base}/static/account.html`);
    await ready(page());
    await setSwitches(page(), ["no-autofill"]); // or the sign-in page would sign straight back in
    await page().getByRole("button", { name: "Sign out", exact: true }).click();
    await page().waitForURL(`${base}/`);
    assert.equal(await sessionStatus(), 401);
  }

  async function openSignIn(switches) {
    assert.equal(await sessionStatus(), 401, "signed out before opening the sign-in page");
    await page().goto(`${base}/`);
    await setSwitches(page(), switches);
    await page().reload();
    await ready(page());
  }

  test("sign up creates the account and its first passkey, and signs in", async () => {
    await page().goto(`${base}/`);
    await setSwitches(page(), ["no-autofill"]);
    await page().reload();
    await ready(page());
    await screenshot(page(), "01-sign-in");
    await page().getByRole("link", { name: "Create an account" }).click();
    await page().waitForURL(`${base}/static/signup.html`);
    await ready(page());
    await page().getByLabel("Username").fill(USER.username);
    await page().getByLabel(/Display name/).fill(USER.displayName);
    await screenshot(page(), "02-sign-up");
    await page().getByRole("button", { name: "Create a passkey" }).click();
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    assert.match(await page().textContent("h1"), /Alice Martin/);
    const rows = await passkeyRows();
    assert.equal(rows.length, 1);
    assert.equal(await sessionStatus(), 200);
    const { credentials } = await s.cdp.send("WebAuthn.getCredentials", { authenticatorId: firstAuthenticator });
    assert.equal(credentials.length, 1, "the virtual authenticator holds one passkey");
    assert.equal(credentials[0].isResidentCredential, true, "the passkey is discoverable");
    await screenshot(page(), "03-account");
  });

  test("adding a passkey on the same authenticator is refused with a plain message", async () => {
    await page().getByRole("button", { name: "Add a passkey" }).click();
    const error = page().locator("#passkeys-error");
    await error.filter({ hasText: /\S/ }).waitFor();
    assert.equal((await error.textContent()).trim(), "This device already holds a passkey for this account.");
    assert.equal((await passkeyRows()).length, 1);
  });

  test("adds a second passkey from a security key (device-bound)", async () => {
    // The platform authenticator stops answering; a USB security key takes the request.
    await s.cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId: firstAuthenticator, enabled: false });
    try {
      secondAuthenticator = await s.addAuthenticator({ transport: "usb" });
      await page().getByRole("button", { name: "Add a passkey" }).click();
      await page().waitForFunction(() => document.querySelectorAll("#passkeys tbody tr").length === 2);
    } finally {
      await s.cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId: firstAuthenticator, enabled: true });
    }
    // The new passkey's name field opens by itself; name it.
    const nameField = page().getByLabel("Passkey name");
    await nameField.waitFor();
    assert.ok(await nameField.evaluate((e) => e === document.activeElement), "the name field has focus");
    await nameField.fill("Blue security key");
    await nameField.press("Enter");
    await page().locator("#passkeys .item-title", { hasText: "Blue security key" }).waitFor();
    const rows = await passkeyRows();
    assert.equal(rows.length, 2);
    const [keyId] = await credentialIds(secondAuthenticator);
    const key = rows.find((r) => r.id === keyId);
    assert.ok(key, `a row for the new credential ${keyId}: ${JSON.stringify(rows)}`);
    assert.match(key.text, /Device-bound/, "backup state BS=0 is shown as device-bound");
    const platform = rows.find((r) => r.id !== keyId);
    assert.match(platform.text, /Synced/, "backup state BS=1 is shown as synced");
    await screenshot(page(), "04-account-two-passkeys");
  });

  test("renames a passkey inline", async () => {
    const [id] = await credentialIds(firstAuthenticator);
    const row = page().locator(`#passkeys tr[data-id="${id}"]`);
    await row.getByRole("button", { name: /^Rename/ }).click();
    const input = page().getByLabel("Passkey name");
    await input.fill("Work laptop");
    await screenshot(page(), "05-rename");
    await input.press("Enter");
    await page().locator(`#passkeys tr[data-id="${id}"] .item-title`, { hasText: "Work laptop" }).waitFor();
    const listed = await page().evaluate(async () => {
      const data = await (await fetch("/api/webauthn/credentials")).json();
      return Array.isArray(data) ? data : data.credentials;
    });
    assert.equal(listed.find((c) => c.id === id)?.name, "Work laptop");
  });

  test("signs out", async () => {
    await signOut();
    await page().goto(`${base}/static/account.html`);
    await page().waitForURL(`${base}/`);
  });

  test("signs in with a username", async () => {
    await openSignIn(["no-autofill"]);
    await page().getByLabel("Username").fill(USER.username);
    await page().getByRole("button", { name: "Continue" }).click();
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    assert.equal(await sessionStatus(), 200);
    assert.match(await page().textContent("h1"), /Alice Martin/);
  });

  test("signs in without a username (discoverable passkey, button)", async () => {
    await signOut();
    await openSignIn(["no-autofill"]);
    const starts = [];
    page().on("request", (r) => r.url().endsWith("/api/webauthn/auth/start") && starts.push(r.postData()));
    await page().getByRole("button", { name: "Sign in with a passkey" }).click();
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    assert.equal(await sessionStatus(), 200);
    assert.deepEqual(starts.map((b) => JSON.parse(b || "{}")), [{}], "auth/start was called without a username");
  });

  test("signs in through passkey autofill (conditional mediation)", async () => {
    await signOut();
    const finishes = [];
    const onRequest = (r) => r.url().endsWith("/api/webauthn/auth/finish") && finishes.push(r.url());
    page().on("request", onRequest);
    const mediation = [];
    await page().exposeFunction("__recordMediation", (m) => mediation.push(m));
    await s.context.addInitScript(() => {
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (options) => {
        window.__recordMediation?.(options?.mediation || "none");
        return get(options);
      };
    });
    await page().goto(`${base}/`);
    await ready(page());
    assert.equal(await page().getAttribute("#username", "autocomplete"), "username webauthn");
    await setSwitches(page(), []);
    await page().reload();
    // Nothing is clicked: the virtual authenticator picks the passkey offered in autofill.
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    assert.equal(await sessionStatus(), 200);
    assert.ok(mediation.includes("conditional"), `a conditional request was made: ${mediation}`);
    assert.ok(finishes.length >= 1);
    page().off("request", onRequest);
  });

  test("removes a passkey after confirmation", async () => {
    await page().goto(`${base}/static/account.html`);
    await ready(page());
    const [id] = await credentialIds(secondAuthenticator);
    const row = page().locator(`#passkeys tr[data-id="${id}"]`);
    // Cancel first: nothing changes.
    await row.getByRole("button", { name: /^Remove/ }).click();
    await page().getByRole("dialog").waitFor();
    await screenshot(page(), "06-remove-confirm", { fullPage: false });
    await page().getByRole("button", { name: "Cancel" }).click();
    assert.equal((await passkeyRows()).length, 2);
    // Escape closes the dialog too, and focus goes back to the button that opened it.
    await row.getByRole("button", { name: /^Remove/ }).click();
    await page().getByRole("dialog").waitFor();
    await page().keyboard.press("Escape");
    await page().getByRole("dialog").waitFor({ state: "hidden" });
    assert.equal(await page().evaluate(() => document.activeElement?.textContent.trim()), "Remove");
    assert.equal((await passkeyRows()).length, 2);
    await row.getByRole("button", { name: /^Remove/ }).click();
    await page().getByRole("button", { name: "Remove passkey", exact: true }).click();
    await page().waitForFunction(() => document.querySelectorAll("#passkeys tbody tr").length === 1);
    const rows = await passkeyRows();
    assert.ok(!rows.some((r) => r.id === id));
    // The security key goes away with its passkey (it would still offer the removed passkey).
    await s.cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: secondAuthenticator });
  });

  test("refuses to remove the last passkey and says why", async () => {
    const [last] = await passkeyRows();
    await page().locator(`#passkeys tr[data-id="${last.id}"]`).getByRole("button", { name: /^Remove/ }).click();
    const removal = page().waitForResponse((r) => r.url().includes("/api/webauthn/credentials/") && r.request().method() === "DELETE");
    await page().getByRole("button", { name: "Remove passkey", exact: true }).click();
    const response = await removal;
    assert.equal(response.status(), 409);
    const body = await response.json();
    const error = page().locator("#passkeys-error");
    await error.filter({ hasText: /\S/ }).waitFor();
    assert.equal((await error.textContent()).trim(), body.message);
    assert.equal((await passkeyRows()).length, 1, "the passkey is still there");
    await screenshot(page(), "07-last-passkey-refused");
  });

  test("lists sessions and signs out another one", async () => {
    // A second browser (own cookies, own authenticator holding a copy of the passkey) signs in too.
    const other = await newSession(browser);
    try {
      const otherAuth = await other.addAuthenticator();
      const { credentials } = await s.cdp.send("WebAuthn.getCredentials", { authenticatorId: firstAuthenticator });
      await other.cdp.send("WebAuthn.addCredential", { authenticatorId: otherAuth, credential: credentials[0] });
      // Passkey autofill signs the other browser in as soon as the sign-in page opens.
      await other.page.goto(`${base}/`);
      await other.page.waitForURL(`${base}/static/account.html`);
      // The passkey is a synced one: bring its signature counter back to this authenticator, or
      // the server rightly takes the next use here for a cloned authenticator (step 7.2.22).
      const synced = (await other.cdp.send("WebAuthn.getCredentials", { authenticatorId: otherAuth })).credentials[0];
      await s.cdp.send("WebAuthn.removeCredential", { authenticatorId: firstAuthenticator, credentialId: synced.credentialId });
      await s.cdp.send("WebAuthn.addCredential", { authenticatorId: firstAuthenticator, credential: synced });

      await page().goto(`${base}/static/account.html`);
      await ready(page());
      await page().waitForSelector("#sessions tbody tr");
      const rows = await page().$$eval("#sessions tbody tr", (trs) => trs.map((t) => ({ id: t.dataset.id, current: t.dataset.current })));
      assert.ok(rows.length >= 2, `two sessions or more: ${JSON.stringify(rows)}`);
      assert.equal(rows.filter((r) => r.current === "true").length, 1, "exactly one is this session");
      await screenshot(page(), "08-account-sessions");
      await page().getByRole("button", { name: "Sign out everywhere else" }).click();
      await page().waitForFunction(() => document.querySelectorAll("#sessions tbody tr").length === 1);
      const status = await other.page.evaluate(async () => (await fetch("/api/session")).status);
      assert.equal(status, 401, "the other browser is signed out");
      assert.equal(await sessionStatus(), 200, "this one is not");
    } finally {
      await other.context.close();
    }
  });

  test("an assertion cannot be used twice", async () => {
    await signOut();
    await openSignIn(["no-autofill"]);
    let captured;
    await page().route("**/api/webauthn/auth/finish", async (route) => {
      captured = route.request().postData();
      await route.continue();
    });
    await page().getByRole("button", { name: "Sign in with a passkey" }).click();
    await page().waitForURL(`${base}/static/account.html`);
    await page().unroute("**/api/webauthn/auth/finish");
    assert.ok(captured, "the auth/finish body was captured");
    const body = JSON.parse(captured);
    assert.ok(body.challengeKey && body.response && body.response.signature);
    const replay = await fetch(`${base}/api/webauthn/auth/finish`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: base },
      body: captured,
    });
    assert.equal(replay.status, 401);
    const error = await replay.json();
    assert.equal(error.error, "authentication_failed");
    assert.equal(typeof error.message, "string");
    assert.equal(replay.headers.get("set-cookie"), null, "no session for a replay");
  });

  test("works without the WebAuthn JSON helpers (base64url fallback)", async () => {
    await signOut();
    await openSignIn(["no-autofill", "no-json"]);
    assert.equal(await page().evaluate(() => typeof PublicKeyCredential.parseRequestOptionsFromJSON), "undefined");
    await page().getByLabel("Username").fill(USER.username);
    await page().getByRole("button", { name: "Continue" }).click();
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    assert.equal(await sessionStatus(), 200);
    await setSwitches(page(), []);
  });

  test("an unknown username gets a plain error, not a crash", async () => {
    await signOut();
    await openSignIn(["no-autofill"]);
    await page().getByLabel("Username").fill("nobody-here");
    const start = page().waitForResponse((r) => r.url().endsWith("/api/webauthn/auth/start"));
    await page().getByRole("button", { name: "Continue" }).click();
    await start;
    // The server answers with options naming no real passkey (it doesn't reveal which usernames
    // exist). Chromium then either fails the request at once (NotAllowedError, shown) or keeps
    // waiting as a person would see "no passkey available"; either way nobody is signed in.
    const outcome = await Promise.race([
      page().locator("#error").filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 }).then(() => "error", () => "pending"),
      page().waitForURL(`${base}/static/account.html`, { timeout: 10_000 }).then(() => "signed-in", () => "pending"),
    ]);
    assert.notEqual(outcome, "signed-in", "an unknown username must not sign anybody in");
    assert.equal(await sessionStatus(), 401);
    if (outcome === "pending") {
      await page().reload(); // the person gives up
      await ready(page());
      return;
    }
    assert.ok((await page().locator("#error").textContent()).trim().length > 0);
    await screenshot(page(), "09-sign-in-error");
  });

  test("sign-up with a taken username shows the server's refusal", async () => {
    assert.equal(await sessionStatus(), 401);
    await page().goto(`${base}/static/signup.html`);
    await ready(page());
    await page().getByLabel("Username").fill(USER.username);
    const start = page().waitForResponse((r) => r.url().endsWith("/api/webauthn/register/start"));
    await page().getByRole("button", { name: "Create a passkey" }).click();
    const response = await start;
    assert.equal(response.ok(), false, `register/start for a taken username answered ${response.status()}`);
    const body = await response.json();
    const error = page().locator("#error");
    await error.filter({ hasText: /\S/ }).waitFor();
    assert.equal((await error.textContent()).trim(), body.message);
    await screenshot(page(), "14-sign-up-taken");
  });

  test("keyboard only: Tab to the passkey button and press Enter", async () => {
    await openSignIn(["no-autofill"]);
    const focused = () => page().evaluate(() => {
      const e = document.activeElement;
      return e ? (e.id || e.textContent.trim()) : "";
    });
    const seen = [];
    for (let i = 0; i < 8 && (await focused()) !== "signin-passkey"; i++) {
      await page().keyboard.press("Tab");
      seen.push(await focused());
    }
    assert.equal(await focused(), "signin-passkey", `Tab order: ${seen.join(" → ")}`);
    assert.ok(seen.indexOf("username") < seen.indexOf("signin-username"), `username comes before Continue: ${seen}`);
    const outline = await page().evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "the focused button shows a focus ring");
    await screenshot(page(), "15-keyboard-focus", { fullPage: false });
    await page().keyboard.press("Enter");
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    assert.equal(await sessionStatus(), 200);
    await signOut();
  });

  test("screenshots: dark mode and a phone", async () => {
    await openSignIn(["no-autofill"]);
    await page().getByRole("button", { name: "Sign in with a passkey" }).click();
    await page().waitForURL(`${base}/static/account.html`);
    await ready(page());
    await page().emulateMedia({ colorScheme: "dark" });
    await screenshot(page(), "10-account-dark");
    await page().setViewportSize({ width: 390, height: 844 });
    await screenshot(page(), "11-account-dark-phone");
    await page().emulateMedia({ colorScheme: "light" });
    await screenshot(page(), "12-account-phone");
    await signOut();
    await openSignIn(["no-autofill"]);
    await page().emulateMedia({ colorScheme: "dark" });
    await screenshot(page(), "13-sign-in-dark-phone");
    await page().emulateMedia({ colorScheme: "light" });
    await page().setViewportSize({ width: 1280, height: 860 });
    assert.deepEqual(s.errors, [], "no uncaught errors on any page");
  });
});
