// End-to-end: a scripted typist in Chromium enrols its rhythm on the example app page, then a
// different rhythm on the same session drives the confidence down until the page asks for a
// passkey step-up, and the step-up restores it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  installSwitches, launchBrowser, newSession, ready, screenshot, setSwitches, startServer,
} from "./support/harness.js";

const PHRASE = "the quick brown fox jumps over the lazy dog";

describe("continuous authentication in Chromium", { timeout: 240_000 }, () => {
  let server;
  let browser;
  let s;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    s = await newSession(browser);
    await installSwitches(s.context);
    await s.addAuthenticator();
  });

  after(async () => {
    if (s && s.errors.length) console.error("# page errors:", s.errors);
    await browser?.close();
    await server?.stop();
  });

  /** Types PHRASE into the composer with `delay` ms per key and sends it; returns the server's view. */
  async function typeAndSend(page, delay) {
    await page.locator("#message").click();
    await page.keyboard.type(PHRASE, { delay });
    const answer = page.waitForResponse((r) => r.url().endsWith("/api/session/signals"));
    await page.getByRole("button", { name: "Send" }).click();
    return (await answer).json();
  }

  test("a foreign rhythm asks for a passkey, which restores confidence", async () => {
    const page = s.page;
    await page.goto(server.base);
    await setSwitches(page, ["no-autofill"]);
    await page.goto(`${server.base}/static/signup.html`);
    await ready(page);
    await page.getByLabel("Username").fill("typist");
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.base}/static/account.html`);
    await ready(page);
    await page.getByRole("link", { name: /continuous authentication/ }).click();
    await page.waitForURL(`${server.base}/static/demo.html`);
    await ready(page);
    assert.match(await page.locator("#confidence-text").textContent(), /Confident it is you: 90 of 100 · still learning/);

    // Enrolment: five messages in the owner's rhythm.
    for (let i = 0; i < 5; i++) {
      const view = await typeAndSend(page, 110);
      assert.deepEqual(view.reasons, ["enrolling"]);
    }
    const mine = await typeAndSend(page, 110);
    assert.equal(mine.enrolling, false);
    assert.equal(mine.decision, "allow", JSON.stringify(mine));
    await screenshot(page, "30-continuous-enrolled");

    // Someone else types, much faster, on the same session.
    let view;
    for (let i = 0; i < 3; i++) {
      view = await typeAndSend(page, 25);
      if (view.decision !== "allow") break;
    }
    assert.equal(view.decision, "step_up_required", JSON.stringify(view));
    const prompt = page.locator("#stepup");
    await prompt.waitFor();
    assert.match(await prompt.textContent(), /Is this still you\?/);
    await screenshot(page, "31-continuous-step-up");

    // The owner confirms with the passkey: confidence is back.
    const finished = page.waitForResponse((r) => r.url().endsWith("/api/webauthn/stepup/finish"));
    await page.getByRole("button", { name: "Continue with passkey" }).click();
    assert.equal((await finished).status(), 200);
    await page.locator("#status").filter({ hasText: "confirmed" }).waitFor();
    assert.match(await page.locator("#confidence-text").textContent(), /Confident it is you: 90 of 100/);
    const session = await page.evaluate(async () => (await fetch("/api/session")).json());
    assert.equal(session.confidence.decision, "allow");
    assert.deepEqual(session.confidence.reasons, ["step_up_ok"]);

    // The page also captures mouse movement and clicks (inside the composer here) and sends
    // them with the next message; the server accepts them into the account's mouse template.
    await page.locator("#message").click();
    await page.keyboard.type(PHRASE, { delay: 110 });
    const box = await page.locator("#message").boundingBox();
    for (let i = 0; i < 8; i++) {
      await page.mouse.move(box.x + 10 + (i * 37) % (box.width - 20), box.y + 5 + (i * 13) % (box.height - 10), { steps: 12 });
      await page.mouse.down();
      await page.mouse.up();
    }
    const request = page.waitForRequest((r) => r.url().endsWith("/api/session/signals"));
    const answer = page.waitForResponse((r) => r.url().endsWith("/api/session/signals"));
    await page.getByRole("button", { name: "Send" }).click();
    const sent = (await request).postDataJSON();
    assert.ok(sent.keystrokes.length >= PHRASE.length, JSON.stringify(sent.keystrokes.length));
    assert.ok(sent.mouse.filter((e) => e.state === "down" && e.button === "left").length >= 8, JSON.stringify(sent.mouse));
    assert.ok(sent.mouse.some((e) => e.state === "move"));
    assert.ok(sent.mouse.every((e) => Number.isFinite(e.t) && Number.isFinite(e.x) && Number.isFinite(e.y)));
    assert.equal((await answer).status(), 200);
    assert.equal((await (await answer).json()).decision, "allow");
  });
});
