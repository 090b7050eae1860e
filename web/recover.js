// Recovery page: the token is in the URL fragment (never sent in a request line or a Referer).
import * as passkeyd from "./passkeyd.js";

const $ = (selector) => document.querySelector(selector);
const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get("token") || "";
if (fragment.get("enrol") === "1") {
  document.title = "Create your passkey · passkeyd";
  $("#title").textContent = "Create your passkey";
  $("#intro").textContent = "Your identity was checked by your organisation. Create the passkey you will sign in with.";
}
// Keep the token out of the address bar and the history once read.
history.replaceState(null, "", location.pathname);

$("#recover").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  $("#error").textContent = "";
  button.disabled = true;
  try {
    const client = passkeyd.default;
    const options = await client.request("POST", "/api/recovery/start", { token });
    const { parseCreationOptions, credentialToJSON } = passkeyd;
    const credential = await navigator.credentials.create({ publicKey: parseCreationOptions(options) });
    await client.request("POST", "/api/webauthn/register/finish", credentialToJSON(credential));
    $("#status").textContent = "Your new passkey is ready. Opening your account…";
    location.href = "/static/account.html";
  } catch (error) {
    const e = passkeyd.toPasskeydError ? passkeyd.toPasskeydError(error) : error;
    $("#error").textContent = e.message;
    button.disabled = false;
  }
});
if (!token) {
  $("#error").textContent = "This page needs the recovery link your organisation gave you.";
  $("#recover").disabled = true;
}
document.documentElement.dataset.ready = "true";
