// End-to-end: account recovery. An administrator records an identity proofing and issues a
// recovery link; a new browser enrols a passkey through it and lands at the lowest level; the
// owner's other browser sees the notice and cancels it. A recovery is also posted to the
// configured webhook, whose cancel link works in a browser with no session.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { launchBrowser, newSession, ready, screenshot, startServer } from "./support/harness.js";

const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef-0123456789";
const HOOK_SECRET = "e2e-webhook-secret-0123456789abcdef-0123";

/** A webhook receiver on a real socket: keeps every JSON body it is sent. */
async function startReceiver() {
  const posts = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      posts.push({ signature: req.headers["passkeyd-signature"], json: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  return { posts, url: `http://127.0.0.1:${receiver.address().port}/hook`, close: () => receiver.close() };
}

describe("account recovery in Chromium", { timeout: 180_000 }, () => {
  let server;
  let browser;
  let owner;
  let helpdeskDevice;
  let receiver;

  before(async () => {
    receiver = await startReceiver();
    server = await startServer({
      env: { PASSKEYD_ADMIN_TOKEN: ADMIN_TOKEN },
      config: `[recovery_webhook]\nurl = "${receiver.url}"\nsecret = "${HOOK_SECRET}"\n`,
    });
    browser = await launchBrowser();
    owner = await newSession(browser);
    await owner.addAuthenticator();
    helpdeskDevice = await newSession(browser);
    await helpdeskDevice.addAuthenticator();
  });

  after(async () => {
    for (const s of [owner, helpdeskDevice]) if (s && s.errors.length) console.error("# page errors:", s.errors);
    await browser?.close();
    await server?.stop();
    receiver?.close();
  });

  async function admin(path, body) {
    const res = await fetch(`${server.base}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json", "X-Admin-Name": "e2e" },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  }

  test("a recovery link enrols a new passkey and the owner can cancel it", async () => {
    const a = owner.page;
    await a.goto(`${server.base}/static/signup.html`);
    await ready(a);
    await a.getByLabel("Username").fill("ruth");
    await a.getByRole("button", { name: "Create a passkey" }).click();
    await a.waitForURL(`${server.base}/static/account.html`);

    const proof = await admin("/admin/api/users/ruth/proofing", {
      ial: 2, method: "in_person_document_check", evidence_ref: "desk-42", verified_by: "e2e",
    });
    assert.equal(proof.status, 201);
    const link = await admin("/admin/api/users/ruth/recovery", {});
    assert.equal(link.status, 201);
    assert.match(link.json.qrSvg, /<svg/);

    const b = helpdeskDevice.page;
    await b.goto(link.json.url);
    await ready(b);
    assert.equal(new URL(b.url()).hash, "", "the token is removed from the address bar");
    await b.getByRole("button", { name: "Create a new passkey" }).click();
    await b.waitForURL(`${server.base}/static/account.html`);
    await ready(b);
    const notice = b.locator("#recovery-notice");
    await notice.waitFor();
    assert.match(await notice.textContent(), /You recovered your account/);
    assert.match(await b.locator("#assurance").textContent(), /Assurance level 1/);
    await screenshot(b, "40-recovered");

    // The link is spent.
    const reuse = await fetch(`${server.base}/api/recovery/start`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: new URL(link.json.url).hash.slice("#token=".length) }),
    });
    assert.equal(reuse.status, 400);

    await a.reload();
    await ready(a);
    await a.locator("#recovery-notice").waitFor();
    await screenshot(a, "41-recovery-notice");
    await a.getByRole("button", { name: "This wasn't me: cancel it" }).click();
    await a.locator("#recovery-notice").filter({ hasText: "was cancelled" }).waitFor();
    const status = await b.evaluate(async () => (await fetch("/api/session")).status);
    assert.equal(status, 401, "the recovered session was revoked");
  });

  test("the admin page lists accounts and filters the audit trail", async () => {
    const page = owner.page;
    await page.goto(`${server.base}/static/admin.html`);
    await ready(page);
    await page.getByLabel("Token", { exact: true }).fill("wrong-token-wrong-token-wrong-token-0");
    await page.getByRole("button", { name: "Use this token" }).click();
    await page.locator("#error").filter({ hasText: /admin bearer token/ }).waitFor();
    await page.getByLabel("Token", { exact: true }).fill(ADMIN_TOKEN);
    await page.getByLabel(/Your name/).fill("e2e-admin");
    await page.getByRole("button", { name: "Use this token" }).click();
    await page.locator("#users tr[data-username='ruth']").waitFor();
    await page.getByLabel("Event").selectOption("recovery_cancelled");
    await page.getByRole("button", { name: "Show" }).click();
    // The table is replaced when the answer arrives: wait for the filtered one.
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("#audit tbody tr")];
      return rows.length > 0 && rows.every((r) => r.dataset.event === "recovery_cancelled");
    });
    assert.equal(await page.locator("#audit tbody tr").count(), 1);
    await page.getByLabel("Event").selectOption("");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#audit tbody tr").length > 1);
    await page.locator("#audit tr[data-event='recovery_used']").first().waitFor();
    await screenshot(page, "42-admin-audit");
  });

  test("the webhook's cancel link cancels a recovery without a session", async () => {
    const laptop = await newSession(browser);
    await laptop.addAuthenticator();
    await laptop.page.goto(`${server.base}/static/signup.html`);
    await ready(laptop.page);
    await laptop.page.getByLabel("Username").fill("ira");
    await laptop.page.getByRole("button", { name: "Create a passkey" }).click();
    await laptop.page.waitForURL(`${server.base}/static/account.html`);
    await admin("/admin/api/users/ira/proofing", {
      ial: 2, method: "in_person_document_check", evidence_ref: "desk-43", verified_by: "e2e",
    });
    const link = await admin("/admin/api/users/ira/recovery", {});
    const thief = await newSession(browser);
    await thief.addAuthenticator();
    await thief.page.goto(link.json.url);
    await ready(thief.page);
    await thief.page.getByRole("button", { name: "Create a new passkey" }).click();
    await thief.page.waitForURL(`${server.base}/static/account.html`);

    // The notice reaches the webhook, signed, with a cancel link.
    let notice;
    for (let i = 0; i < 100 && !notice; i++) {
      notice = receiver.posts.find((p) => p.json.account.username === "ira");
      if (!notice) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(notice, "the webhook was posted");
    assert.equal(notice.json.event, "recovery_used");
    assert.match(notice.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    const cancelUrl = notice.json.cancel_url.replace("http://localhost:8080", server.base);
    assert.ok(cancelUrl.startsWith(`${server.base}/static/recover.html#cancel=`), cancelUrl);

    // A browser with no session at all (the owner's mail on another device) cancels it.
    const mail = await newSession(browser);
    await mail.page.goto(cancelUrl);
    await ready(mail.page);
    assert.equal(new URL(mail.page.url()).hash, "", "the token is removed from the address bar");
    await mail.page.getByRole("button", { name: "It wasn't me: cancel the recovery" }).click();
    await mail.page.locator("#status").filter({ hasText: "The recovery is cancelled" }).waitFor();
    await screenshot(mail.page, "43-recovery-cancelled-by-link");
    const status = await thief.page.evaluate(async () => (await fetch("/api/session")).status);
    assert.equal(status, 401, "the recovered session was revoked");
    // The link works once (a fresh load: the same path with only a fragment would not reload).
    await mail.page.goto("about:blank");
    await mail.page.goto(cancelUrl);
    await ready(mail.page);
    await mail.page.getByRole("button", { name: "It wasn't me: cancel the recovery" }).click();
    await mail.page.locator("#error").filter({ hasText: "cannot be cancelled" }).waitFor();
  });
});
