// The example host page: passkeyd.js watches the composer's typing and, when the session's
// confidence asks for it, prompts for a passkey step-up.
import * as passkeyd from "./passkeyd.js";

const $ = (selector) => document.querySelector(selector);

function show(view) {
  if (!view) return;
  const meter = $("#confidence-meter");
  meter.value = view.value;
  const words = { allow: "Confident it is you", step_up_required: "Not sure it is still you", suspended: "Session ended" };
  const learning = view.enrolling ? " · still learning how you type" : "";
  $("#confidence-text").textContent = `${words[view.decision] || view.decision}: ${Math.round(view.value)} of 100${learning}.`;
  document.body.dataset.decision = view.decision;
}

async function stepUp() {
  const dialog = $("#stepup");
  dialog.returnValue = "";
  dialog.showModal();
  const choice = await new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
  if (choice !== "continue") {
    await passkeyd.signOut().catch(() => {});
    location.href = "/";
    return;
  }
  try {
    await passkeyd.stepUp({ action: "continue_session" });
    const current = await passkeyd.session();
    show(current && current.confidence);
    $("#status").textContent = "Thanks, confirmed.";
  } catch (error) {
    $("#error").textContent = error.message;
  }
}

async function init() {
  const current = await passkeyd.session().catch(() => null);
  if (!current) {
    location.href = "/";
    return;
  }
  if (!current.confidence) {
    $("#confidence-text").textContent = "Continuous authentication is turned off on this server.";
  } else {
    show(current.confidence);
  }
  // Typing in the composer; mouse movement anywhere on the page.
  const watcher = passkeyd.watchBehavior(document, {
    batchKeys: 1000, // one batch per message: sent with it
    onConfidence: (view) => {
      show(view);
      if (view.decision === "step_up_required") stepUp();
      if (view.decision === "suspended") location.href = "/";
    },
  });
  $("#compose").addEventListener("submit", async (event) => {
    event.preventDefault();
    await watcher.flush();
    $("#message").value = "";
    $("#status").textContent = "Message sent.";
  });
  $("#main").setAttribute("aria-busy", "false");
  document.documentElement.dataset.ready = "true";
}

init();
