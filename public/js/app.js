// The UI's only script of its own, loaded from our origin after htmx (the CSP allows no inline script).
// It configures htmx, keeps the grace countdown live, shows times in the reader's time zone, wires
// the copy and cancel buttons, and runs the WebAuthn ceremonies of passkey forms. Everything else is
// plain HTML and htmx attributes.
(() => {
  // Runs before htmx initialises (both scripts are deferred, htmx waits for DOMContentLoaded).
  if (window.htmx) {
    Object.assign(window.htmx.config, {
      // No inline <style> (the CSP refuses it; the indicator styles live in app.css), no eval.
      includeIndicatorStyles: false,
      // Settling copies these attributes across a swap; copying "style" would be an inline style.
      attributesToSettle: ["class", "width", "height"],
      allowEval: false,
      allowScriptTags: false,
      // Pages can hold secrets and backup codes: never keep copies of them in localStorage.
      historyCacheSize: 0,
      refreshOnHistoryMiss: true,
      selfRequestsOnly: true,
      // Refusals are fragments meant for the page (an invalid code, a wait time): swap them in as
      // the expected answers they are. Server failures are swapped too, and logged as errors.
      responseHandling: [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "4..", swap: true, error: false },
        { code: "5..", swap: true, error: true },
      ],
    });
  }

  const UNITS = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ];

  /** "6 days 23 hours", "3 minutes 5 seconds": the two largest units, as the server words it. */
  function formatDuration(totalSeconds) {
    let rest = Math.max(0, Math.floor(totalSeconds));
    const parts = [];
    for (const [unit, size] of UNITS) {
      const count = Math.floor(rest / size);
      rest -= count * size;
      if (count > 0 || parts.length > 0)
        parts.push(count === 0 ? "" : `${count} ${unit}${count === 1 ? "" : "s"}`);
      if (parts.length === 2) break;
    }
    return parts.filter(Boolean).join(" ") || "no time";
  }

  function tickCountdowns() {
    for (const element of document.querySelectorAll("[data-countdown-to]")) {
      const deadline = Date.parse(element.getAttribute("data-countdown-to"));
      if (Number.isNaN(deadline)) continue;
      element.textContent = formatDuration((deadline - Date.now()) / 1000);
    }
  }

  const localFormat = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });

  function localiseTimes(root) {
    for (const element of root.querySelectorAll("time[data-local-time]")) {
      const at = Date.parse(element.getAttribute("datetime"));
      if (Number.isNaN(at)) continue;
      element.title = element.textContent;
      element.textContent = localFormat.format(new Date(at));
      element.removeAttribute("data-local-time");
    }
  }

  async function copy(button) {
    const text = button.getAttribute("data-copy");
    const label = button.innerHTML;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed: select the text instead";
    }
    setTimeout(() => {
      button.innerHTML = label;
    }, 2000);
  }

  const passkeysWork =
    typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

  /**
   * A passkey form (data-passkey-ceremony, src/ui/passkeys.tsx): ask its options route for a
   * challenge, run the ceremony, put the answer (PublicKeyCredential.toJSON()) in its hidden fields
   * and send it through htmx like any form.
   */
  class Refused extends Error {}

  /** Asks `url` for a challenge and runs the ceremony; the options route's refusal is a Refused. */
  async function answerChallenge(url, ceremony, body) {
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || !answer.options)
      throw new Refused(answer.error ?? "Something went wrong. Try again.");
    const credential =
      ceremony === "create"
        ? await navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(answer.options),
          })
        : await navigator.credentials.get({
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(answer.options),
          });
    return { challengeId: answer.challenge_id, json: JSON.stringify(credential.toJSON()) };
  }

  async function runPasskeyCeremony(button) {
    const form = button.closest("form");
    // The button may say what to run (a second step inside the sign-in form); else its form does.
    const ceremony = button.dataset.passkeyCeremony ?? form.dataset.passkeyCeremony;
    const optionsUrl = button.dataset.passkeyOptions ?? form.dataset.passkeyOptions;
    const status = form.querySelector("[data-passkey-status]");
    const say = (text) => {
      if (status) status.textContent = text;
    };
    if (!passkeysWork) return say("This browser cannot use passkeys. Use a code instead.");
    button.disabled = true;
    try {
      const body = new URLSearchParams(new FormData(form));
      const included = form.getAttribute("hx-include");
      for (const field of included ? document.querySelectorAll(included) : [])
        body.set(field.name, field.value);
      say("Follow your browser's prompt…");
      // Adding a passkey beside others is confirmed with one of them, unless a code was typed.
      const confirmUrl = form.dataset.passkeyConfirm;
      if (confirmUrl && !form.elements.code?.value) {
        const proof = await answerChallenge(confirmUrl, "get", body);
        form.elements.proof_challenge_id.value = proof.challengeId;
        form.elements.proof_credential.value = proof.json;
      }
      const answer = await answerChallenge(optionsUrl, ceremony, body);
      form.elements.passkey_challenge_id.value = answer.challengeId;
      form.elements.passkey_credential.value = answer.json;
      say("");
      form.requestSubmit();
    } catch (error) {
      say(
        error instanceof Refused
          ? error.message
          : error?.name === "NotAllowedError"
            ? "The passkey was not used (cancelled or timed out). Try again."
            : error?.name === "InvalidStateError"
              ? "This device holds one of your passkeys already."
              : "The passkey could not be used. Try again.",
      );
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const passkeyButton = target?.closest("[data-passkey]");
    if (passkeyButton) {
      event.preventDefault();
      runPasskeyCeremony(passkeyButton);
      return;
    }
    const copyButton = target?.closest("[data-copy]");
    if (copyButton) {
      event.preventDefault();
      copy(copyButton);
      return;
    }
    const closeButton = target?.closest("[data-close-details]");
    if (closeButton) {
      const details = closeButton.closest("details");
      if (details) {
        details.open = false;
        details.querySelector("summary")?.focus();
      }
    }
  });

  // The sign-in page takes the tenant from the link in a reminder email (/?tenant=…) or remembers it
  // (never the username or password), and says why it is shown.
  function setUpSignIn() {
    const tenant = document.getElementById("tenant");
    const query = new URLSearchParams(location.search);
    if (tenant) {
      if (!tenant.value) tenant.value = query.get("tenant") ?? localStorage.getItem("tenant") ?? "";
      tenant.form?.addEventListener("submit", () => localStorage.setItem("tenant", tenant.value.trim()));
    }
    const notice = document.getElementById("signed-out-notice");
    if (notice && query.has("signed-out")) notice.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpSignIn();
    localiseTimes(document);
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
  });
  // Content htmx swaps in gets the same treatment.
  document.addEventListener("htmx:load", (event) => {
    if (event.target instanceof Element) localiseTimes(event.target);
    tickCountdowns();
  });
})();
