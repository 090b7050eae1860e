// Starts `passkeyd serve` (or, with PASSKEYD_E2E_MOCK=1, the development stand-in), Debian's
// Chromium through playwright-core, and DevTools WebAuthn virtual authenticators.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SHOTS = process.env.PASSKEYD_SHOTS || "/tmp/passkeyd-shots";
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function binaryPath() {
  if (process.env.PASSKEYD_BIN) return process.env.PASSKEYD_BIN;
  return path.join(REPO, "target", "debug", "passkeyd");
}

function hasServe(bin) {
  return fs.existsSync(bin) && spawnSync(bin, ["serve", "--help"], { stdio: "ignore" }).status === 0;
}

function ensureBinary() {
  const bin = binaryPath();
  if (hasServe(bin)) return bin;
  if (process.env.PASSKEYD_BIN) throw new Error(`PASSKEYD_BIN=${bin} does not exist or has no \`serve\` command`);
  console.error(`# ${bin} is missing or older than \`passkeyd serve\`: cargo build -p passkeyd --bin passkeyd`);
  const env = { ...process.env };
  delete env.CARGO_TARGET_DIR; // the default path is the repository's target/
  const built = spawnSync("cargo", ["build", "-p", "passkeyd", "--bin", "passkeyd"], { cwd: REPO, stdio: "inherit", env });
  if (built.status !== 0 || !fs.existsSync(bin)) throw new Error("cargo build -p passkeyd --bin passkeyd failed");
  return bin;
}

async function waitForHealth(base, child, logFile, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`passkeyd exited with ${child.exitCode} before /healthz answered:\n${fs.readFileSync(logFile, "utf8").slice(-4000)}`);
    }
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`passkeyd did not answer /healthz within ${timeoutMs} ms (${last})`);
}

/**
 * Starts the server; returns {base, stop(), logFile}. `base` is http://localhost:PORT. `config`
 * is TOML text for `--config` (e.g. a `[policy]` section).
 */
export async function startServer({ config, env = {} } = {}) {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  if (process.env.PASSKEYD_E2E_MOCK === "1") {
    const { startMockServer } = await import("./mock-server.js");
    const mock = await startMockServer({ port, webDir: path.join(REPO, "web") });
    return { base, port, mock: true, logFile: null, stop: () => mock.close() };
  }
  const bin = ensureBinary();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "passkeyd-e2e-"));
  const logFile = path.join(dataDir, "server.log");
  const log = fs.openSync(logFile, "a");
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--rp-id", "localhost", "--origin", base, "--data-dir", dataDir];
  if (config) {
    const file = path.join(dataDir, "passkeyd.toml");
    fs.writeFileSync(file, config);
    args.push("--config", file);
  }
  const child = spawn(bin, args, { cwd: REPO, stdio: ["ignore", log, log], env: { RUST_LOG: "info", ...process.env, ...env } });
  try {
    await waitForHealth(`http://127.0.0.1:${port}`, child, logFile);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.closeSync(log);
    if (!process.env.PASSKEYD_E2E_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, port, mock: false, logFile, dataDir, stop };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

export const AUTHENTICATOR = Object.freeze({
  protocol: "ctap2",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
});

/**
 * A browser context and page with the WebAuthn virtual authenticator environment enabled.
 * @returns {Promise<{context, page, cdp, errors: string[], addAuthenticator(opts?): Promise<string>}>}
 */
export async function newSession(browser, { viewport = { width: 1280, height: 860 }, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const addAuthenticator = async (extra = {}) => {
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options: { ...AUTHENTICATOR, ...extra } });
    return authenticatorId;
  };
  return { context, page, cdp, errors, addAuthenticator };
}

export async function screenshot(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage, animations: "disabled", caret: "hide" });
  return file;
}

/** Waits until app.js has finished setting up the page. */
export async function ready(page) {
  await page.waitForSelector("html[data-ready='true']", { state: "attached", timeout: 15_000 });
}

/**
 * Test switches read by an init script on every page load (set them with `setSwitch` while on the
 * site's origin): "no-autofill" makes the page behave as a browser without passkey autofill
 * (conditional mediation); "no-json" removes the WebAuthn L3 JSON helpers
 * (parse*OptionsFromJSON, toJSON) so passkeyd.js takes its manual base64url fallback.
 */
export async function installSwitches(context) {
  await context.addInitScript(() => {
    let on = [];
    try {
      on = JSON.parse(localStorage.getItem("passkeyd-e2e") || "[]");
    } catch {}
    if (!window.PublicKeyCredential) return;
    if (on.includes("no-autofill")) {
      Object.defineProperty(PublicKeyCredential, "isConditionalMediationAvailable", { value: async () => false, configurable: true });
    }
    if (on.includes("no-json")) {
      delete PublicKeyCredential.parseCreationOptionsFromJSON;
      delete PublicKeyCredential.parseRequestOptionsFromJSON;
      delete PublicKeyCredential.prototype.toJSON;
    }
  });
}

export async function setSwitches(page, switches) {
  await page.evaluate((list) => localStorage.setItem("passkeyd-e2e", JSON.stringify(list)), switches);
}
