// The passkeyd pages: sign in (index.html), sign up (signup.html) and the account page (account.html).
// Each page loads this module; <body data-page="..."> picks what runs.
import * as passkeyd from "/static/passkeyd.js";

const PAGES = { signin: "/", signup: "/static/signup.html", account: "/static/account.html" };

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "html") node.innerHTML = value; // only for our own static SVG icons
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const ICONS = {
  cloud: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M17.5 19a4.5 4.5 0 1 0-1.4-8.78A6 6 0 0 0 4.5 13 3 3 0 0 0 6 19h11.5Z"/></svg>',
  device: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="6" y="2.5" width="12" height="19" rx="2.5"/><path d="M11 18h2"/></svg>',
  key: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><circle cx="8" cy="15" r="4"/><path d="M10.85 12.15 19 4M18 5l2 2M15 8l2 2"/></svg>',
  monitor: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="2.5" y="4" width="19" height="13" rx="2"/><path d="M8 21h8M12 17v4"/></svg>',
  check: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="m5 12.5 4.5 4.5L19 7.5"/></svg>',
};

// ---------------------------------------------------------------------------------------------
// Status and errors (both are live regions in the pages)

function showError(error, target = $("#error")) {
  if (!target) return;
  if (!error) {
    target.textContent = "";
    return;
  }
  const toasts = $("#status.toast-region");
  if (toasts) toasts.textContent = "";
  target.textContent = typeof error === "string" ? error : error.message || "Something went wrong.";
}

let toastTimer = null;
function showStatus(text, { busy = false, kind = "info", target = $("#status") } = {}) {
  if (!target) return;
  target.textContent = "";
  if (!text) return;
  if (target.classList.contains("toast-region")) {
    const notice = el("div", { class: `notice notice-${kind}` }, text);
    target.append(notice);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { target.textContent = ""; }, 5000);
    return;
  }
  if (busy) target.append(el("span", { class: "spinner", "aria-hidden": "true" }), " ");
  target.append(text);
}

/** Runs `task` with `button` marked busy; errors go to the error region unless cancelled. */
async function busy(button, task) {
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await task();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value < 1e12 ? value * 1000 : value);
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function formatWhen(value, { never = "Never" } = {}) {
  const d = toDate(value);
  if (!d) return never;
  const seconds = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "Just now";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return dateFormat.format(d);
}

function timeElement(value, options) {
  const d = toDate(value);
  if (!d) return el("span", { class: "muted" }, (options && options.never) || "Never");
  return el("time", { datetime: d.toISOString(), title: dateTimeFormat.format(d) }, formatWhen(value, options));
}

function describeUserAgent(ua) {
  if (!ua) return "Unknown browser";
  const browser = /Edg\//.test(ua) ? "Edge" : /OPR\//.test(ua) ? "Opera" : /Firefox\//.test(ua) ? "Firefox"
    : /(Chrome|Chromium|HeadlessChrome)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : null;
  const os = /Windows/.test(ua) ? "Windows" : /Android/.test(ua) ? "Android" : /(iPhone|iPad)/.test(ua) ? "iOS"
    : /Mac OS X/.test(ua) ? "macOS" : /CrOS/.test(ua) ? "ChromeOS" : /Linux/.test(ua) ? "Linux" : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser || os || ua.slice(0, 60);
}

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

function go(path) {
  location.assign(path);
}

// ---------------------------------------------------------------------------------------------
// Sign in (index.html)

async function initSignIn() {
  const form = $("#signin-form");
  const input = $("#username");
  const button = $("#signin-passkey");
  const submit = $("#signin-username");

  const current = await passkeyd.session().catch(() => null);
  if (current) return go(PAGES.account);
  const flash = sessionStorage.getItem("passkeyd-flash");
  if (flash) {
    sessionStorage.removeItem("passkeyd-flash");
    showStatus(flash, { kind: "success" });
  }

  if (!passkeyd.isSupported()) {
    showError(passkeyd.MESSAGES.NotSupportedError);
    button.disabled = true;
    submit.disabled = true;
    return;
  }

  const signedIn = () => {
    showStatus("Signed in. Opening your account…", { busy: true });
    go(PAGES.account);
  };

  let autofillFailures = 0;
  function autofill() {
    passkeyd.startAutofill(input).then((result) => {
      if (result) signedIn();
    }, (error) => {
      showError(error);
      // Offer autofill again after a refused passkey, but don't spin on a server that is down.
      if (++autofillFailures < 3) setTimeout(autofill, 500 * autofillFailures);
    });
  }

  async function run(target, username) {
    showError(null);
    showStatus(username ? `Signing in as ${username}…` : "Waiting for your passkey…", { busy: true });
    try {
      await busy(target, () => passkeyd.signIn(username ? { username } : {}));
      signedIn();
    } catch (error) {
      showStatus("");
      showError(error);
      autofill();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(submit, input.value.trim());
  });
  button.addEventListener("click", () => run(button, ""));
  document.documentElement.dataset.ready = "true";
  autofill();
}

// ---------------------------------------------------------------------------------------------
// Sign up (signup.html)

async function initSignUp() {
  const form = $("#signup-form");
  const username = $("#username");
  const displayName = $("#displayName");
  const submit = $("#signup-submit");

  const current = await passkeyd.session().catch(() => null);
  if (current) return go(PAGES.account);

  if (!passkeyd.isSupported()) {
    showError(passkeyd.MESSAGES.NotSupportedError);
    submit.disabled = true;
  }

  username.addEventListener("input", () => username.removeAttribute("aria-invalid"));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    const name = username.value.trim();
    if (!name) {
      username.setAttribute("aria-invalid", "true");
      showError("Choose a username.");
      username.focus();
      return;
    }
    showStatus("Follow your browser's prompt to create the passkey…", { busy: true });
    try {
      await busy(submit, () => passkeyd.signUp({ username: name, displayName: displayName.value.trim() || name }));
      showStatus("Your passkey is ready. Opening your account…", { busy: true });
      go(PAGES.account);
    } catch (error) {
      showStatus("");
      showError(error);
      if (error.code === "username_taken" || error.code === "bad_request") {
        username.setAttribute("aria-invalid", "true");
        username.focus();
      }
    }
  });
  document.documentElement.dataset.ready = "true";
}

// ---------------------------------------------------------------------------------------------
// Account (account.html)

async function initAccount() {
  const main = $("#main");
  let current;
  try {
    current = await passkeyd.session();
  } catch (error) {
    showError(error);
    return;
  }
  if (!current) return go(PAGES.signin);

  const user = current.user || {};
  const display = user.displayName || user.username || "there";
  $("#avatar").textContent = initials(display);
  $("#who-name").textContent = display;
  $("#who-username").textContent = user.username || "";
  $("#welcome-title").textContent = `Hi, ${display}`;
  const since = toDate(current.authenticatedAt);
  $("#welcome-sub").textContent = [
    since ? `Signed in ${formatWhen(current.authenticatedAt).toLowerCase()} with a passkey` : "Signed in with a passkey",
    current.userVerified ? "verified with your fingerprint, face or screen lock" : null,
  ].filter(Boolean).join(", ") + ".";

  const assurance = current.assurance;
  if (assurance) {
    const words = {
      user_not_verified: "no fingerprint, face or PIN check",
      synced: "synced passkey",
      device_bound: "device-bound passkey",
      attested: "confirmed authenticator model",
    };
    const said = (assurance.reasons || []).map((r) => words[r]).filter(Boolean);
    const p = $("#assurance");
    p.textContent = "";
    p.append(el("span", { class: "badge badge-current", title: "NIST SP 800-63B authenticator assurance level of this sign-in" }, `Assurance level ${assurance.aal}`));
    for (const phrase of said) p.append(el("span", {}, phrase));
    p.hidden = false;
  }

  const recovery = current.recovery;
  if (recovery) {
    const notice = $("#recovery-notice");
    const until = formatWhen(recovery.coolingOffUntil);
    if (recovery.thisSession) {
      notice.textContent = `You recovered your account with a new passkey. For your protection, sensitive actions are blocked until ${until}.`;
    } else {
      const cancel = el("button", { class: "btn btn-danger btn-sm", type: "button", id: "cancel-recovery" }, "This wasn't me: cancel it");
      cancel.addEventListener("click", async () => {
        try {
          await busy(cancel, () => passkeyd.default.request("POST", "/api/recovery/cancel", {}));
          notice.textContent = "The recovery was cancelled: the new passkey and its sessions no longer work.";
        } catch (error) {
          showError(error);
        }
      });
      notice.textContent = "";
      notice.append(`A new passkey was added to your account through account recovery (${formatWhen(recovery.at).toLowerCase()}). `, cancel);
    }
    notice.hidden = false;
  }

  /** Shows the step-up prompt; resolves true when the person chooses to continue. */
  function askStepUp() {
    const dialog = $("#stepup");
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "continue"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  $("#delete-account").addEventListener("click", async (event) => {
    showError(null, $("#danger-error"));
    const confirmDialog = $("#confirm-delete");
    confirmDialog.returnValue = "";
    confirmDialog.showModal();
    const choice = await new Promise((resolve) => confirmDialog.addEventListener("close", () => resolve(confirmDialog.returnValue), { once: true }));
    if (choice !== "delete") return;
    try {
      await busy(event.currentTarget, () => passkeyd.withStepUp(() => passkeyd.deleteAccount(), askStepUp));
    } catch (error) {
      if (error.code === "AbortError") return;
      return showError(error, $("#danger-error"));
    }
    sessionStorage.setItem("passkeyd-flash", "Your account was deleted.");
    go(PAGES.signin);
  });

  $("#signout").addEventListener("click", async (event) => {
    try {
      await busy(event.currentTarget, () => passkeyd.signOut());
    } catch (error) {
      if (error.status !== 401) return showError(error);
    }
    go(PAGES.signin);
  });

  $("#add-passkey").addEventListener("click", async (event) => {
    showError(null, $("#passkeys-error"));
    try {
      const added = await busy(event.currentTarget, () => passkeyd.addPasskey());
      showStatus("Passkey added. Give it a name you'll recognise.", { kind: "success" });
      await loadPasskeys();
      // Offer to name the new passkey right away (Escape keeps the default).
      const row = added && added.credentialId && $(`#passkeys tr[data-id="${CSS.escape(added.credentialId)}"]`);
      if (row) row.querySelector(".rename")?.click();
    } catch (error) {
      if (error.code === "AbortError") return;
      showError(error, $("#passkeys-error"));
    }
  });

  $("#revoke-others").addEventListener("click", async (event) => {
    showError(null, $("#sessions-error"));
    const others = sessions.filter((s) => !isCurrentSession(s));
    try {
      await busy(event.currentTarget, async () => {
        for (const s of others) await passkeyd.revokeSession(s.id);
      });
      showStatus(others.length === 1 ? "Signed out of 1 other session." : `Signed out of ${others.length} other sessions.`, { kind: "success" });
    } catch (error) {
      showError(error, $("#sessions-error"));
    }
    await loadSessions();
  });

  let sessions = [];
  const isCurrentSession = (s) => s.current === true || s.isCurrent === true;

  async function loadPasskeys(focusId) {
    const body = $("#passkeys-body");
    let list;
    try {
      list = await passkeyd.listPasskeys();
    } catch (error) {
      showError(error, $("#passkeys-error"));
      return;
    }
    body.textContent = "";
    if (!list.length) {
      body.append(el("p", { class: "empty" }, "You have no passkeys yet."));
      return;
    }
    const active = list.filter((c) => (c.status || "active") === "active").length;
    if (active < 2) {
      body.append(el("p", { class: "notice notice-info", id: "second-passkey-hint" },
        "You have only one working passkey. Add a second one, on another device or a security key, so that losing this one does not lock you out."));
    }
    const tbody = el("tbody");
    for (const cred of list) tbody.append(passkeyRow(cred));
    body.append(el("table", { class: "list", id: "passkeys" },
      el("caption", { class: "visually-hidden" }, "Your passkeys"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Name"),
        el("th", { scope: "col" }, "Type"),
        el("th", { scope: "col" }, "Created"),
        el("th", { scope: "col" }, "Last used"),
        el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Actions")))),
      tbody));
    if (focusId) {
      const row = body.querySelector(`tr[data-id="${CSS.escape(focusId)}"] .rename`);
      if (row) row.focus();
    }
  }

  function isSecurityKey(cred) {
    const t = Array.isArray(cred.transports) ? cred.transports : [];
    return !t.includes("internal") && t.some((x) => x === "usb" || x === "nfc" || x === "ble" || x === "smart-card");
  }

  function authenticatorLabel(cred) {
    if (cred.authenticatorName) return cred.authenticatorName;
    const t = Array.isArray(cred.transports) ? cred.transports : [];
    if (t.includes("internal")) return "Built-in authenticator";
    if (t.includes("hybrid")) return "Phone or tablet";
    if (t.some((x) => x === "usb" || x === "nfc" || x === "ble" || x === "smart-card")) return "Security key";
    return "Authenticator";
  }

  function passkeyName(cred) {
    return cred.name || cred.authenticatorName || "Passkey";
  }

  function passkeyRow(cred) {
    const name = passkeyName(cred);
    const synced = cred.synced === true || (cred.synced === undefined && cred.backedUp === true);
    const isThis = current.credentialId && current.credentialId === cred.id;
    const nameCell = el("td", { class: "name-cell" });
    const title = el("div", { class: "cell-name" },
      el("span", { class: "item-icon", html: synced ? ICONS.cloud : isSecurityKey(cred) ? ICONS.key : ICONS.device }),
      el("div", {},
        el("div", { class: "item-title" }, name,
          isThis ? " " : null,
          isThis ? el("span", { class: "badge badge-current", title: "You signed in to this session with this passkey" }, "In use") : null),
        el("div", { class: "item-sub" }, authenticatorLabel(cred))));
    nameCell.append(title);

    const row = el("tr", { "data-id": cred.id },
      nameCell,
      el("td", { "data-label": "Type" }, synced
        ? el("span", { class: "badge badge-synced", title: "Backed up and available on your other devices", html: ICONS.cloud }, "Synced")
        : el("span", { class: "badge badge-device", title: "Stays on one device or security key; not backed up", html: ICONS.device }, "Device-bound")),
      el("td", { "data-label": "Created", class: "nowrap" }, timeElement(cred.createdAt)),
      el("td", { "data-label": "Last used", class: "nowrap" }, timeElement(cred.lastUsedAt)),
      el("td", {}, el("div", { class: "actions" },
        el("button", { class: "btn btn-ghost btn-sm rename", type: "button", "aria-label": `Rename ${name}`, onclick: () => startRename(row, cred, nameCell, title) }, "Rename"),
        el("button", { class: "btn btn-danger-ghost btn-sm remove", type: "button", "aria-label": `Remove ${name}`, onclick: (e) => confirmRemove(cred, e.currentTarget) }, "Remove"))));
    return row;
  }

  function startRename(row, cred, cell, title) {
    const inputId = `rename-${cred.id}`;
    const input = el("input", { id: inputId, type: "text", value: passkeyName(cred), maxlength: "64", autocomplete: "off" });
    const save = el("button", { class: "btn btn-primary btn-sm", type: "submit" }, "Save");
    const cancel = el("button", { class: "btn btn-ghost btn-sm", type: "button" }, "Cancel");
    const form = el("form", { class: "rename-form", "aria-label": `Rename ${passkeyName(cred)}` },
      el("label", { for: inputId, class: "visually-hidden" }, "Passkey name"), input, save, cancel);
    const renameButton = row.querySelector(".rename");
    const restore = () => {
      form.replaceWith(title);
      renameButton.disabled = false;
      renameButton.focus();
    };
    cancel.addEventListener("click", restore);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        restore();
      }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) {
        input.setAttribute("aria-invalid", "true");
        showError("A passkey needs a name.", $("#passkeys-error"));
        input.focus();
        return;
      }
      showError(null, $("#passkeys-error"));
      try {
        await busy(save, () => passkeyd.renamePasskey(cred.id, name));
        showStatus(`Renamed to “${name}”.`, { kind: "success" });
        await loadPasskeys(cred.id);
      } catch (error) {
        showError(error, $("#passkeys-error"));
      }
    });
    title.replaceWith(form);
    renameButton.disabled = true;
    input.focus();
    input.select();
  }

  const dialog = $("#confirm-remove");
  function confirmRemove(cred, opener) {
    showError(null, $("#passkeys-error"));
    $("#confirm-text").textContent = `You will no longer be able to sign in with “${passkeyName(cred)}”. This can't be undone.`;
    dialog.returnValue = "";
    dialog.onclose = async () => {
      if (dialog.returnValue !== "remove") {
        opener.focus();
        return;
      }
      try {
        await busy(opener, () => passkeyd.removePasskey(cred.id));
        showStatus(`Removed “${passkeyName(cred)}”.`, { kind: "success" });
        await loadPasskeys();
        $("#add-passkey").focus();
      } catch (error) {
        showError(error, $("#passkeys-error"));
        opener.focus();
      }
    };
    dialog.showModal();
  }

  async function loadSessions() {
    const body = $("#sessions-body");
    try {
      sessions = await passkeyd.listSessions();
    } catch (error) {
      showError(error, $("#sessions-error"));
      return;
    }
    body.textContent = "";
    sessions.sort((a, b) => (isCurrentSession(b) - isCurrentSession(a)) || ((toDate(b.lastSeenAt)?.getTime() || 0) - (toDate(a.lastSeenAt)?.getTime() || 0)));
    $("#revoke-others").hidden = sessions.filter((s) => !isCurrentSession(s)).length < 1;
    if (!sessions.length) {
      body.append(el("p", { class: "empty" }, "No sessions."));
      return;
    }
    const tbody = el("tbody");
    for (const s of sessions) {
      const here = isCurrentSession(s);
      const device = describeUserAgent(s.userAgent);
      tbody.append(el("tr", { "data-id": s.id, "data-current": here ? "true" : "false" },
        el("td", {}, el("div", { class: "cell-name" },
          el("span", { class: "item-icon", html: ICONS.monitor }),
          el("div", {},
            el("div", { class: "item-title" }, device, here ? " " : null, here ? el("span", { class: "badge badge-current" }, "This session") : null),
            s.ip ? el("div", { class: "item-sub" }, s.ip) : null))),
        el("td", { "data-label": "Signed in", class: "nowrap" }, timeElement(s.authenticatedAt ?? s.createdAt)),
        el("td", { "data-label": "Last active", class: "nowrap" }, timeElement(s.lastSeenAt, { never: "—" })),
        el("td", {}, here ? el("span", { class: "muted item-sub" }, "You are here") :
          el("button", { class: "btn btn-danger-ghost btn-sm revoke", type: "button", "aria-label": `Sign out ${device}`,
            onclick: async (e) => {
              showError(null, $("#sessions-error"));
              try {
                await busy(e.currentTarget, () => passkeyd.revokeSession(s.id));
                showStatus(`Signed out ${device}.`, { kind: "success" });
              } catch (error) {
                showError(error, $("#sessions-error"));
              }
              await loadSessions();
              $("#sessions-title").focus?.();
            } }, "Sign out"))));
    }
    body.append(el("table", { class: "list", id: "sessions" },
      el("caption", { class: "visually-hidden" }, "Your sessions"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Device"),
        el("th", { scope: "col" }, "Signed in"),
        el("th", { scope: "col" }, "Last active"),
        el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Actions")))),
      tbody));
  }

  await Promise.all([loadPasskeys(), loadSessions()]);
  main.removeAttribute("aria-busy");
  document.documentElement.dataset.ready = "true";
}

const init = { signin: initSignIn, signup: initSignUp, account: initAccount }[document.body.dataset.page];
if (init) {
  init().catch((error) => {
    showError(error);
    document.documentElement.dataset.ready = "true";
  });
}
