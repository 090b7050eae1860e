// passkeyd.js: browser client for a passkeyd server (WebAuthn / passkeys).
//
// A plain ES module with no dependencies. Use it from the passkeyd pages or from any other site:
//
//   import { signIn, signUp, startAutofill, PasskeydError } from "https://auth.example.com/static/passkeyd.js";
//   // or, for a server on another origin:
//   import { createClient } from "./passkeyd.js";
//   const passkeyd = createClient({ baseUrl: "https://auth.example.com" });
//   await passkeyd.signIn();
//
// Every failure is a PasskeydError with a `code` (a WebAuthn DOMException name such as
// "NotAllowedError", a server error code such as "authentication_failed", or "network_error")
// and a plain-language `message` that can be shown as it is.

/** Plain-language messages for the DOMException names that navigator.credentials can throw. */
export const MESSAGES = Object.freeze({
  NotAllowedError: "The request was cancelled or timed out.",
  InvalidStateError: "This device already holds a passkey for this account.",
  SecurityError: "This page's address is not allowed to use passkeys for this site.",
  AbortError: "The request was cancelled.",
  NotSupportedError: "This browser or device does not support passkeys.",
  ConstraintError: "This device cannot meet the security requirements for this passkey.",
  UnknownError: "The passkey could not be used. Please try again.",
  network_error: "Could not reach the server. Check your connection and try again.",
  bad_response: "The server sent an unexpected answer. Please try again.",
  server_error: "Something went wrong on the server. Please try again.",
});

export class PasskeydError extends Error {
  /**
   * @param {string} code  DOMException name, server error code, or "network_error"
   * @param {string} message  plain-language text, fit to show to a person
   * @param {{status?: number, cause?: unknown, details?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || MESSAGES[code] || MESSAGES.UnknownError, extra.cause ? { cause: extra.cause } : undefined);
    this.name = "PasskeydError";
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.details !== undefined) this.details = extra.details;
  }

  /** True when the person cancelled (or the request was aborted): usually nothing to show. */
  get cancelled() {
    return this.code === "AbortError" || this.code === "NotAllowedError";
  }
}

// ---------------------------------------------------------------------------------------------
// base64url and JSON <-> WebAuthn conversions (fallback for browsers without the L3 JSON methods)

export function base64urlToBuffer(value) {
  const b64 = String(value).replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "===".slice((b64.length + 3) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

export function bufferToBase64url(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function descriptorFromJSON(d) {
  return { ...d, id: base64urlToBuffer(d.id) };
}

function extensionsFromJSON(ext) {
  if (!ext) return ext;
  const out = { ...ext };
  const evalFromJSON = (e) => e && {
    first: base64urlToBuffer(e.first),
    ...(e.second !== undefined ? { second: base64urlToBuffer(e.second) } : {}),
  };
  if (ext.prf) {
    out.prf = { ...ext.prf };
    if (ext.prf.eval) out.prf.eval = evalFromJSON(ext.prf.eval);
    if (ext.prf.evalByCredential) {
      out.prf.evalByCredential = Object.fromEntries(Object.entries(ext.prf.evalByCredential).map(([k, v]) => [k, evalFromJSON(v)]));
    }
  }
  if (ext.largeBlob && typeof ext.largeBlob.write === "string") {
    out.largeBlob = { ...ext.largeBlob, write: base64urlToBuffer(ext.largeBlob.write) };
  }
  return out;
}

/** PublicKeyCredentialCreationOptionsJSON -> PublicKeyCredentialCreationOptions */
export function parseCreationOptions(json) {
  if (typeof PublicKeyCredential !== "undefined" && typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  const options = {
    ...json,
    challenge: base64urlToBuffer(json.challenge),
    user: { ...json.user, id: base64urlToBuffer(json.user.id) },
  };
  if (json.excludeCredentials) options.excludeCredentials = json.excludeCredentials.map(descriptorFromJSON);
  if (json.extensions) options.extensions = extensionsFromJSON(json.extensions);
  return options;
}

/** PublicKeyCredentialRequestOptionsJSON -> PublicKeyCredentialRequestOptions */
export function parseRequestOptions(json) {
  if (typeof PublicKeyCredential !== "undefined" && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  const options = { ...json, challenge: base64urlToBuffer(json.challenge) };
  if (json.allowCredentials) options.allowCredentials = json.allowCredentials.map(descriptorFromJSON);
  if (json.extensions) options.extensions = extensionsFromJSON(json.extensions);
  return options;
}

function extensionResultsToJSON(value) {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return bufferToBase64url(value);
  if (Array.isArray(value)) return value.map(extensionResultsToJSON);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, extensionResultsToJSON(v)]));
  }
  return value;
}

function call(obj, method) {
  try {
    return typeof obj[method] === "function" ? obj[method]() : undefined;
  } catch {
    return undefined;
  }
}

/** PublicKeyCredential -> RegistrationResponseJSON / AuthenticationResponseJSON */
export function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") {
    try {
      return credential.toJSON();
    } catch {
      // fall through to the manual conversion
    }
  }
  const r = credential.response;
  const response = { clientDataJSON: bufferToBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = bufferToBase64url(r.attestationObject);
    const authData = call(r, "getAuthenticatorData");
    if (authData) response.authenticatorData = bufferToBase64url(authData);
    response.transports = call(r, "getTransports") || [];
    const alg = call(r, "getPublicKeyAlgorithm");
    if (alg !== undefined) response.publicKeyAlgorithm = alg;
    const publicKey = call(r, "getPublicKey");
    if (publicKey) response.publicKey = bufferToBase64url(publicKey);
  } else {
    response.authenticatorData = bufferToBase64url(r.authenticatorData);
    response.signature = bufferToBase64url(r.signature);
    response.userHandle = r.userHandle ? bufferToBase64url(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    response,
    clientExtensionResults: extensionResultsToJSON(call(credential, "getClientExtensionResults") || {}),
  };
}

/** Maps whatever navigator.credentials threw to a PasskeydError. */
export function toPasskeydError(error) {
  if (error instanceof PasskeydError) return error;
  const name = error && error.name;
  if (name && MESSAGES[name]) return new PasskeydError(name, MESSAGES[name], { cause: error });
  return new PasskeydError(name || "UnknownError", MESSAGES.UnknownError, { cause: error });
}

export function isSupported() {
  return typeof window !== "undefined" && typeof window.PublicKeyCredential === "function" &&
    !!(navigator.credentials && navigator.credentials.create && navigator.credentials.get);
}

// ---------------------------------------------------------------------------------------------
// The client

/**
 * A client bound to one passkeyd server.
 * @param {{baseUrl?: string, credentials?: RequestCredentials, fetch?: typeof fetch}} [settings]
 *   baseUrl: where the server is ("" = this page's origin). For a server on another origin the
 *   cookies need `credentials: "include"` (chosen by default then) and the server must allow this
 *   page's origin (CORS with credentials) and accept it as a WebAuthn origin.
 */
export function createClient(settings = {}) {
  const config = { baseUrl: "", credentials: undefined, fetch: undefined };
  let autofill = null; // {controller: AbortController} of the pending conditional request

  function configure(next = {}) {
    if (next.baseUrl !== undefined) config.baseUrl = String(next.baseUrl).replace(/\/+$/, "");
    if (next.credentials !== undefined) config.credentials = next.credentials;
    if (next.fetch !== undefined) config.fetch = next.fetch;
    return { ...config };
  }
  configure(settings);

  function credentialsMode() {
    if (config.credentials) return config.credentials;
    if (!config.baseUrl) return "same-origin";
    try {
      return new URL(config.baseUrl, location.href).origin === location.origin ? "same-origin" : "include";
    } catch {
      return "include";
    }
  }

  async function api(method, path, body) {
    const init = { method, credentials: credentialsMode(), headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await (config.fetch || fetch)(config.baseUrl + path, init);
    } catch (cause) {
      throw new PasskeydError("network_error", MESSAGES.network_error, { cause });
    }
    const text = await response.text().catch(() => "");
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        if (response.ok) throw new PasskeydError("bad_response", MESSAGES.bad_response, { status: response.status });
      }
    }
    if (!response.ok) {
      const code = (data && typeof data.error === "string" && data.error) || (response.status >= 500 ? "server_error" : `http_${response.status}`);
      const message = (data && typeof data.message === "string" && data.message) ||
        (response.status >= 500 ? MESSAGES.server_error : `The server refused the request (${response.status}).`);
      throw new PasskeydError(code, message, { status: response.status, details: data });
    }
    return data;
  }

  function cancelAutofill() {
    if (autofill) {
      autofill.controller.abort(new DOMException("Replaced by another passkey request", "AbortError"));
      autofill = null;
    }
  }

  async function create(optionsJSON) {
    if (!isSupported()) throw new PasskeydError("NotSupportedError", MESSAGES.NotSupportedError);
    cancelAutofill();
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey: parseCreationOptions(optionsJSON) });
    } catch (error) {
      throw toPasskeydError(error);
    }
    if (!credential) throw new PasskeydError("NotAllowedError", MESSAGES.NotAllowedError);
    return credentialToJSON(credential);
  }

  async function get(optionsJSON, extra = {}) {
    if (!isSupported()) throw new PasskeydError("NotSupportedError", MESSAGES.NotSupportedError);
    let credential;
    try {
      credential = await navigator.credentials.get({ publicKey: parseRequestOptions(optionsJSON), ...extra });
    } catch (error) {
      throw toPasskeydError(error);
    }
    if (!credential) throw new PasskeydError("NotAllowedError", MESSAGES.NotAllowedError);
    return credentialToJSON(credential);
  }

  async function authenticate(startBody, extra) {
    const start = await api("POST", "/api/webauthn/auth/start", startBody);
    if (!start || !start.options) throw new PasskeydError("bad_response", MESSAGES.bad_response);
    const assertion = await get(start.options, extra);
    const result = await api("POST", "/api/webauthn/auth/finish", { ...assertion, challengeKey: start.challengeKey });
    return result;
  }

  /** Creates an account and its first passkey, and signs in. Resolves {success, credentialId}. */
  async function signUp({ username, displayName } = {}) {
    const options = await api("POST", "/api/webauthn/register/start", { username, displayName: displayName || username });
    const credential = await create(options);
    return api("POST", "/api/webauthn/register/finish", credential);
  }

  /** Signs in with a passkey; without a username the browser offers every passkey for this site. */
  async function signIn({ username } = {}) {
    cancelAutofill();
    return authenticate(username ? { username } : {});
  }

  /**
   * Offers passkeys in the browser's autofill of `input` (conditional mediation). Resolves with the
   * sign-in result once the person picks a passkey, or null if it is unavailable or cancelled
   * (cancelAutofill(), any other passkey request, or `signal`). Rejects with a PasskeydError if
   * the chosen passkey is refused. The challenge is renewed before the server's timeout.
   * @param {HTMLInputElement} [input]
   * @param {{signal?: AbortSignal}} [opts]
   */
  async function startAutofill(input, opts = {}) {
    if (input) {
      const tokens = (input.getAttribute("autocomplete") || "").split(/\s+/).filter(Boolean);
      if (!tokens.includes("webauthn")) input.setAttribute("autocomplete", [...(tokens.length ? tokens : ["username"]), "webauthn"].join(" "));
    }
    if (!isSupported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return null;
    try {
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return null;
    } catch {
      return null;
    }
    cancelAutofill();
    const mine = { controller: new AbortController() };
    autofill = mine;
    const outer = opts.signal;
    if (outer) {
      if (outer.aborted) return null;
      outer.addEventListener("abort", () => autofill === mine && cancelAutofill(), { once: true });
    }
    while (autofill === mine) {
      const start = await api("POST", "/api/webauthn/auth/start", {});
      if (autofill !== mine) return null;
      // Renew the challenge a little before the server would let it expire.
      const round = new AbortController();
      const timeout = Number(start.options && start.options.timeout) || 0;
      const margin = Math.max(5_000, timeout / 10);
      const timer = timeout > 10_000 ? setTimeout(() => round.abort(new DOMException("renew", "AbortError")), timeout - margin) : null;
      const onAbort = () => round.abort(mine.controller.signal.reason);
      mine.controller.signal.addEventListener("abort", onAbort, { once: true });
      let assertion;
      try {
        assertion = await get(start.options, { mediation: "conditional", signal: round.signal });
      } catch (error) {
        if (autofill !== mine) return null;
        if (round.signal.aborted) continue; // renewal
        if (error instanceof PasskeydError && error.code === "NotAllowedError") continue; // picker dismissed
        if (autofill === mine) autofill = null;
        throw error;
      } finally {
        if (timer) clearTimeout(timer);
        mine.controller.signal.removeEventListener("abort", onAbort);
      }
      if (autofill === mine) autofill = null;
      return api("POST", "/api/webauthn/auth/finish", { ...assertion, challengeKey: start.challengeKey });
    }
    return null;
  }

  /** Registers one more passkey for the signed-in account. Resolves {success, credentialId}. */
  async function addPasskey() {
    const options = await api("POST", "/api/webauthn/register/start", {});
    const credential = await create(options);
    return api("POST", "/api/webauthn/register/finish", credential);
  }

  async function listPasskeys() {
    const data = await api("GET", "/api/webauthn/credentials");
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.credentials)) return data.credentials;
    return [];
  }

  function renamePasskey(id, name) {
    return api("PATCH", `/api/webauthn/credentials/${encodeURIComponent(id)}`, { name });
  }

  function removePasskey(id) {
    return api("DELETE", `/api/webauthn/credentials/${encodeURIComponent(id)}`);
  }

  /** The current session, or null when signed out. */
  async function session() {
    try {
      return await api("GET", "/api/session");
    } catch (error) {
      if (error instanceof PasskeydError && error.status === 401) return null;
      throw error;
    }
  }

  function signOut() {
    cancelAutofill();
    return api("DELETE", "/api/session");
  }

  async function listSessions() {
    const data = await api("GET", "/api/sessions");
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.sessions)) return data.sessions;
    return [];
  }

  function revokeSession(id) {
    return api("DELETE", `/api/sessions/${encodeURIComponent(id)}`);
  }

  /**
   * Step-up: confirms it is still the account's owner with a user-verified passkey ceremony, and
   * binds an elevation for `action` to this session. Resolves {success, elevation}.
   * @param {{action: string, level?: number, maxAge?: number}} request
   */
  async function stepUp({ action, level, maxAge } = {}) {
    cancelAutofill();
    const body = { action };
    if (level !== undefined) body.level = level;
    if (maxAge !== undefined) body.max_age = maxAge;
    const start = await api("POST", "/api/webauthn/stepup/start", body);
    if (!start || !start.options) throw new PasskeydError("bad_response", MESSAGES.bad_response);
    const assertion = await get(start.options);
    return api("POST", "/api/webauthn/stepup/finish", { ...assertion, challengeKey: start.challengeKey });
  }

  /**
   * Runs `task`; when the server answers `step_up_required`, asks `confirm(details)` (resolve true
   * to go on: show your own prompt there), steps up for the named action and level, and runs
   * `task` once more.
   */
  async function withStepUp(task, confirm = async () => true) {
    try {
      return await task();
    } catch (error) {
      if (!(error instanceof PasskeydError) || error.code !== "step_up_required") throw error;
      const details = error.details || {};
      if (!(await confirm(details))) throw new PasskeydError("AbortError", MESSAGES.AbortError);
      await stepUp({ action: details.action, level: details.level });
      return task();
    }
  }

  /**
   * Continuous authentication: records when keys go down and up inside `element` (never which
   * text results: the server keeps only timing statistics per pair of keys) and, with
   * `mouse: true`, where and when the mouse pointer moves and clicks there (the server keeps only
   * statistics of movement features per action kind, never positions). Sends them in batches to
   * `POST /api/session/signals`. `onConfidence(view)` gets the session's confidence after each
   * batch; when `view.decision` is `step_up_required`, call `stepUp(...)`. Returns
   * `{flush(), stop()}`. Stops by itself when the server has the feature turned off (404).
   * @param {HTMLElement|Document} element
   * @param {{onConfidence?: Function, batchKeys?: number, batchPointer?: number, idleMs?: number,
   *   mouse?: boolean}} [options]
   */
  function watchTyping(
    element,
    { onConfidence = () => {}, batchKeys = 40, batchPointer = 600, idleMs = 5000, mouse = false } = {},
  ) {
    const pending = new Map(); // code -> {key, down}
    let batch = [];
    let pointer = [];
    let lastMove = -Infinity;
    let timer = null;
    let stopped = false;
    let sending = Promise.resolve();
    const now = () => performance.now();
    function schedule() {
      clearTimeout(timer);
      if (batch.length >= batchKeys || pointer.length >= batchPointer) flush();
      else timer = setTimeout(flush, idleMs);
    }
    function onDown(event) {
      if (event.repeat || stopped) return;
      pending.set(event.code || event.key, { key: event.key, down: now() });
    }
    function onUp(event) {
      if (stopped) return;
      const id = event.code || event.key;
      const started = pending.get(id);
      if (!started) return;
      pending.delete(id);
      batch.push({ key: started.key, down: started.down, up: now() });
      schedule();
    }
    // Mouse only (not touch or pen); moves at most every 8 ms, as the mouse model expects.
    function onPointer(event) {
      if (stopped || event.pointerType !== "mouse") return;
      const t = now();
      const at = { t, x: Math.round(event.clientX), y: Math.round(event.clientY) };
      if (event.type === "pointermove") {
        if (t - lastMove < 8) return;
        lastMove = t;
        pointer.push({ ...at, button: "none", state: event.buttons ? "drag" : "move" });
      } else {
        const button = event.button === 0 ? "left" : event.button === 2 ? "right" : null;
        if (!button) return;
        pointer.push({ ...at, button, state: event.type === "pointerdown" ? "down" : "up" });
      }
      schedule();
    }
    function flush() {
      clearTimeout(timer);
      if (stopped || (batch.length < 2 && pointer.length < 20)) return sending;
      const body = { keystrokes: batch };
      if (pointer.length) body.mouse = pointer;
      batch = [];
      pointer = [];
      sending = sending.then(async () => {
        try {
          const view = await api("POST", "/api/session/signals", body);
          onConfidence(view);
          return view;
        } catch (error) {
          if (error instanceof PasskeydError && (error.status === 404 || error.status === 401)) stop();
          return null;
        }
      });
      return sending;
    }
    const pointerEvents = mouse ? ["pointermove", "pointerdown", "pointerup"] : [];
    function stop() {
      stopped = true;
      clearTimeout(timer);
      element.removeEventListener("keydown", onDown, true);
      element.removeEventListener("keyup", onUp, true);
      for (const type of pointerEvents) element.removeEventListener(type, onPointer, true);
    }
    element.addEventListener("keydown", onDown, true);
    element.addEventListener("keyup", onUp, true);
    for (const type of pointerEvents) element.addEventListener(type, onPointer, { capture: true, passive: true });
    return { flush, stop };
  }

  /** `watchTyping` with mouse movement too (`mouse: true`). */
  function watchBehavior(element, options = {}) {
    return watchTyping(element, { ...options, mouse: true });
  }

  /** Deletes the signed-in account (needs a fresh step-up: see withStepUp). */
  function deleteAccount() {
    return api("DELETE", "/api/account");
  }

  return {
    configure, signUp, signIn, startAutofill, cancelAutofill, addPasskey, listPasskeys, renamePasskey,
    removePasskey, session, signOut, listSessions, revokeSession, stepUp, withStepUp, deleteAccount,
    watchTyping, watchBehavior, request: api,
  };
}

// The default client talks to this page's origin; `configure({baseUrl})` points it elsewhere.
const client = createClient();
export const {
  configure, signUp, signIn, startAutofill, cancelAutofill, addPasskey, listPasskeys, renamePasskey,
  removePasskey, session, signOut, listSessions, revokeSession, stepUp, withStepUp, deleteAccount,
  watchTyping, watchBehavior,
} = client;
export default client;
