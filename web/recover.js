// Recovery page: the token is in the URL fragment (never sent in a request line or a Referer).
import * as passkeyd from "./passkeyd.js";

const $ = (selector) => document.querySelector(selector);
const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get("token") || "";
const cancelToken = fragment.get("cancel") || "";
if (fragment.get("enrol") === "1") {
  document.title = "Create your passkey · passkeyd";
  $("#title").textContent = "Create your passkey";
  $("#intro").textContent = "Your identity was checked by your organisation. Create the passkey you will sign in with.";
}
// Keep the token out of the address bar and the history once read.
history.replaceState(null, "", location.pathname);

if (cancelToken) {
  // The link of a recovery notice: "this wasn't me".
  document.title = "Cancel an account recovery · passkeyd";
  $("#title").textContent = "Cancel this account recovery";
  $("#intro").textContent = "Someone recovered your account with a new passkey. If it was not you, cancel it: "
    + "that passkey is removed and every session it opened ends.";
  $("#recover").textContent = "It wasn't me: cancel the recovery";
  $("#recover").classList.replace("btn-primary", "btn-danger");
}

$("#recover").addEventListener("click", async (event) => {
  if (cancelToken) return cancelRecovery(event.currentTarget);
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
async function cancelRecovery(button) {
  $("#error").textContent = "";
  button.disabled = true;
  try {
    await passkeyd.default.request("POST", "/api/recovery/cancel-token", { cancelToken });
    $("#status").textContent = "The recovery is cancelled: its passkey is removed and its sessions ended. "
      + "Tell your organisation's helpdesk.";
  } catch (error) {
    $("#error").textContent = error.status === 404
      ? "This recovery cannot be cancelled: it was cancelled already, or the link is not valid."
      : error.message;
    button.disabled = false;
  }
}

if (!token && !cancelToken) {
  $("#error").textContent = "This page needs the recovery link your organisation gave you.";
  $("#recover").disabled = true;
}
document.documentElement.dataset.ready = "true";
