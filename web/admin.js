// The admin page: the admin API with a bearer token kept in this tab's session storage.
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function api(path) {
  const token = sessionStorage.getItem("passkeyd-admin-token") || "";
  const name = sessionStorage.getItem("passkeyd-admin-name") || "";
  const res = await fetch(path, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json", ...(name ? { "X-Admin-Name": name } : {}) },
    credentials: "omit",
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.message) || `The server answered ${res.status}.`);
  return data;
}

function showError(error) {
  $("#error").textContent = error ? error.message || String(error) : "";
}

function when(unix) {
  return new Date(unix * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

async function loadUsers() {
  const q = $("#user-query").value.trim();
  const users = await api(`/admin/api/users?q=${encodeURIComponent(q)}&limit=100`);
  const body = $("#users-body");
  body.textContent = "";
  if (!users.length) {
    body.append(el("p", { class: "empty" }, "No account matches."));
    return;
  }
  const tbody = el("tbody");
  for (const u of users) {
    const show = el("button", { class: "btn btn-secondary btn-sm", type: "button" }, "Audit");
    show.addEventListener("click", () => {
      $("#audit-user").value = u.username;
      loadAudit().catch(showError);
    });
    tbody.append(el("tr", { "data-username": u.username },
      el("td", {}, u.username), el("td", {}, u.displayName), el("td", {}, u.effectiveTier),
      el("td", {}, u.group || "—"), el("td", {}, u.createdAt), el("td", {}, show)));
  }
  body.append(el("table", { class: "list", id: "users" },
    el("thead", {}, el("tr", {}, ...["Username", "Name", "Tier", "Group", "Created", ""].map((h) => el("th", { scope: "col" }, h)))),
    tbody));
}

async function loadAudit() {
  const params = new URLSearchParams({ limit: "200" });
  if ($("#audit-event").value) params.set("event", $("#audit-event").value);
  if ($("#audit-user").value.trim()) params.set("username", $("#audit-user").value.trim());
  const events = await api(`/admin/api/audit?${params}`);
  const body = $("#audit-body");
  body.textContent = "";
  if (!events.length) {
    body.append(el("p", { class: "empty" }, "No event matches."));
    return;
  }
  const tbody = el("tbody");
  for (const e of events.slice().reverse()) {
    let details = e.details;
    try {
      details = JSON.stringify(JSON.parse(e.details), null, 1);
    } catch {}
    tbody.append(el("tr", { "data-seq": String(e.seq), "data-event": e.event },
      el("td", {}, String(e.seq)), el("td", {}, when(e.at)), el("td", {}, e.event),
      el("td", {}, e.outcome), el("td", {}, e.actor), el("td", {}, e.client_addr || "—"),
      el("td", {}, el("details", {}, el("summary", {}, "details"), el("pre", { class: "admin-pre" }, details)))));
  }
  body.append(el("table", { class: "list", id: "audit" },
    el("thead", {}, el("tr", {}, ...["#", "Time", "Event", "Outcome", "Actor", "Address", ""].map((h) => el("th", { scope: "col" }, h)))),
    tbody));
}

async function start() {
  showError(null);
  try {
    await loadUsers();
    await loadAudit();
    $("#users-panel").hidden = false;
    $("#audit-panel").hidden = false;
  } catch (error) {
    showError(error);
  }
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("passkeyd-admin-token", $("#token").value);
  sessionStorage.setItem("passkeyd-admin-name", $("#admin-name").value.trim());
  $("#token").value = "";
  start();
});
$("#users-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadUsers().catch(showError);
});
$("#audit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadAudit().catch(showError);
});
if (sessionStorage.getItem("passkeyd-admin-token")) start();
document.documentElement.dataset.ready = "true";
