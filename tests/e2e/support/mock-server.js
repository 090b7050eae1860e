// A stand-in for `passkeyd serve` used only to develop the pages (PASSKEYD_E2E_MOCK=1).
// It speaks the same HTTP API but checks nothing cryptographic: it only matches and consumes
// challenges. The e2e suite runs against the real server unless that variable is set.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const now = () => new Date().toISOString();

export function startMockServer({ port = 0, host = "127.0.0.1", webDir, rpId = "localhost" } = {}) {
  const users = new Map(); // username -> {id, username, displayName}
  const creds = new Map(); // id -> {id, userId, name, ...}
  const ceremonies = new Map(); // cookie -> {challenge, kind, user}
  const challenges = new Map(); // challengeKey -> challenge (auth)
  const sessions = new Map(); // sid -> {id, userId, credentialId, createdAt, lastSeenAt, userAgent}

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const fail = (res, status, error, message) => send(res, status, { error, message });
  const cookies = (req) => Object.fromEntries((req.headers.cookie || "").split(/;\s*/).filter(Boolean).map((c) => c.split("=")));

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    let body = "";
    for await (const chunk of req) body += chunk;
    let json = {};
    try { json = body ? JSON.parse(body) : {}; } catch { return fail(res, 400, "bad_request", "Bad JSON."); }
    const jar = cookies(req);
    const sess = jar.pkd_session && sessions.get(jar.pkd_session);
    if (sess) sess.lastSeenAt = now();
    const user = sess && [...users.values()].find((u) => u.id === sess.userId);
    const p = url.pathname;
    const signIn = (u, credentialId) => {
      const sid = crypto.randomUUID();
      sessions.set(sid, { id: sid, userId: u.id, credentialId, createdAt: now(), lastSeenAt: now(), userAgent: req.headers["user-agent"] });
      return `pkd_session=${sid}; Path=/; HttpOnly; SameSite=Lax`;
    };

    if (req.method === "GET" && (p === "/" || p.startsWith("/static/"))) {
      const file = p === "/" ? "index.html" : p.slice("/static/".length);
      const full = path.join(webDir, path.normalize(file));
      if (!full.startsWith(webDir) || !fs.existsSync(full)) return fail(res, 404, "not_found", "Not found.");
      const type = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" }[path.extname(full)] || "application/octet-stream";
      res.writeHead(200, { "Content-Type": type + "; charset=utf-8" });
      return res.end(fs.readFileSync(full));
    }
    if (p === "/healthz") return send(res, 200, { ok: true });

    if (req.method === "POST" && p === "/api/webauthn/register/start") {
      let u = user;
      if (!u) {
        if (!json.username) return fail(res, 400, "bad_request", "Choose a username.");
        if (users.has(json.username)) return fail(res, 409, "username_taken", "That username is taken.");
        u = { id: b64u(crypto.randomBytes(16)), username: json.username, displayName: json.displayName || json.username, pending: true };
      }
      const challenge = b64u(crypto.randomBytes(32));
      const key = crypto.randomUUID();
      ceremonies.set(key, { challenge, user: u });
      return send(res, 200, {
        rp: { id: rpId, name: "passkeyd" },
        user: { id: u.id, name: u.username, displayName: u.displayName },
        challenge,
        pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -257 }],
        timeout: 300000,
        excludeCredentials: [...creds.values()].filter((c) => c.userId === u.id).map((c) => ({ type: "public-key", id: c.id })),
        authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
        attestation: "none",
      }, { "Set-Cookie": `pkd_ceremony=${key}; Path=/; HttpOnly; SameSite=Strict` });
    }
    if (req.method === "POST" && p === "/api/webauthn/register/finish") {
      const c = ceremonies.get(jar.pkd_ceremony);
      ceremonies.delete(jar.pkd_ceremony);
      if (!c) return fail(res, 400, "registration_failed", "Registration failed.");
      const cd = JSON.parse(Buffer.from(json.response.clientDataJSON, "base64url"));
      if (cd.challenge !== c.challenge) return fail(res, 400, "registration_failed", "Registration failed.");
      const u = c.user;
      let cookie;
      if (u.pending) {
        delete u.pending;
        users.set(u.username, u);
      }
      const flags = json.response.authenticatorData ? Buffer.from(json.response.authenticatorData, "base64url")[32] : 0;
      creds.set(json.id, { id: json.id, userId: u.id, name: null, aaguid: "00000000-0000-0000-0000-000000000000", authenticatorName: null, synced: (flags & 0x10) !== 0, backedUp: (flags & 0x10) !== 0, createdAt: now(), lastUsedAt: null, transports: json.response.transports || [] });
      if (!user) cookie = signIn(u, json.id);
      return send(res, 200, { success: true, credentialId: json.id }, cookie ? { "Set-Cookie": cookie } : {});
    }
    if (req.method === "POST" && p === "/api/webauthn/auth/start") {
      const challenge = b64u(crypto.randomBytes(32));
      const challengeKey = crypto.randomUUID();
      challenges.set(challengeKey, challenge);
      const options = { challenge, rpId, timeout: 300000, userVerification: "preferred" };
      if (json.username) {
        const u = users.get(json.username);
        options.allowCredentials = u ? [...creds.values()].filter((c) => c.userId === u.id).map((c) => ({ type: "public-key", id: c.id, transports: c.transports }))
          : [{ type: "public-key", id: b64u(crypto.randomBytes(32)), transports: ["internal"] }];
      }
      return send(res, 200, { options, challengeKey });
    }
    if (req.method === "POST" && p === "/api/webauthn/auth/finish") {
      const challenge = challenges.get(json.challengeKey);
      challenges.delete(json.challengeKey);
      const cred = creds.get(json.id);
      let cd = {};
      try { cd = JSON.parse(Buffer.from(json.response.clientDataJSON, "base64url")); } catch {}
      if (!challenge || !cred || cd.challenge !== challenge) return fail(res, 401, "authentication_failed", "Sign-in failed.");
      cred.lastUsedAt = now();
      const u = [...users.values()].find((x) => x.id === cred.userId);
      return send(res, 200, { success: true, user: { username: u.username, displayName: u.displayName } }, { "Set-Cookie": signIn(u, cred.id) });
    }
    if (req.method === "GET" && p === "/api/session") {
      if (!user) return fail(res, 401, "unauthenticated", "Sign in first.");
      return send(res, 200, { user: { username: user.username, displayName: user.displayName }, credentialId: sess.credentialId, userVerified: true, authenticatedAt: sess.createdAt, expiresAt: new Date(Date.now() + 86400e3).toISOString() });
    }
    if (!user) return fail(res, 401, "unauthenticated", "Sign in first.");
    if (req.method === "DELETE" && p === "/api/session") {
      sessions.delete(sess.id);
      return send(res, 200, { success: true }, { "Set-Cookie": "pkd_session=; Path=/; Max-Age=0" });
    }
    if (req.method === "GET" && p === "/api/sessions") {
      return send(res, 200, [...sessions.values()].filter((s) => s.userId === user.id).map((s) => ({ ...s, current: s.id === sess.id })));
    }
    if (req.method === "DELETE" && p.startsWith("/api/sessions/")) {
      const s = sessions.get(decodeURIComponent(p.split("/").pop()));
      if (!s || s.userId !== user.id) return fail(res, 404, "not_found", "No such session.");
      sessions.delete(s.id);
      return send(res, 200, { success: true });
    }
    if (req.method === "GET" && p === "/api/webauthn/credentials") {
      return send(res, 200, [...creds.values()].filter((c) => c.userId === user.id));
    }
    if (p.startsWith("/api/webauthn/credentials/")) {
      const c = creds.get(decodeURIComponent(p.split("/").pop()));
      if (!c || c.userId !== user.id) return fail(res, 404, "not_found", "No such passkey.");
      if (req.method === "PATCH") {
        c.name = json.name;
        return send(res, 200, c);
      }
      if (req.method === "DELETE") {
        if ([...creds.values()].filter((x) => x.userId === user.id).length <= 1) {
          return fail(res, 409, "last_credential", "You can't remove your only passkey. Add another passkey first.");
        }
        creds.delete(c.id);
        return send(res, 200, { success: true });
      }
    }
    return fail(res, 404, "not_found", "Not found.");
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve({ server, port: server.address().port, close: () => new Promise((r) => server.close(r)) })));
}
