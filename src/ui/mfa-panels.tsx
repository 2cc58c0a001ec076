// The enrollment panels shared by Profile and the forced enrollment page: the enrollment card, the
// QR code with its manual key and the verify form, then the backup codes, shown once.
import type { SetupResult } from "../auth/mfa";
import { Alert, CodeField, groupDigits, Icon } from "./components";
import { PasskeyButton, PasskeyForm } from "./passkey-forms";

/** Which screen an enrollment runs on: Profile's Enable, Profile's Move, or the forced enrollment. */
export type SetupFlow = "enable" | "move" | "enroll";

export function parseFlow(value: string): SetupFlow {
  return value === "move" || value === "enroll" ? value : "enable";
}

const SETUP_TITLE: Record<SetupFlow, string> = {
  enable: "Set up two-step verification",
  move: "Move to a new device",
  enroll: "Set up two-step verification",
};

export const SetupPanel = ({ setup, flow }: { setup: SetupResult; flow: SetupFlow }) => (
  <section id="mfa-card" class="card" aria-labelledby="setup-title">
    <h2 id="setup-title">{SETUP_TITLE[flow]}</h2>
    {flow === "move" && (
      <p class="muted">Your current authenticator keeps working until you confirm the new one below.</p>
    )}
    <ol class="setup-steps">
      <li>
        <h3>Scan this QR code with your authenticator app</h3>
        <p class="muted">
          Google Authenticator, Microsoft Authenticator, Authy, 1Password, Bitwarden or any other TOTP app.
        </p>
        <div class="qr-box">
          <img
            class="qr"
            src={setup.qrCode}
            alt="QR code that adds this account to an authenticator app"
            width="240"
            height="240"
          />
          <div class="manual-key">
            <p id="manual-key-label">Can't scan it? Enter this key in the app instead:</p>
            <code id="manual-key">{groupDigits(setup.secret)}</code>
            <button type="button" class="btn btn-secondary btn-small" data-copy={setup.secret}>
              <Icon name="copy" /> Copy key
            </button>
          </div>
        </div>
      </li>
      <li>
        <h3>Enter the 6-digit code the app shows</h3>
        <VerifyForm flow={flow} />
      </li>
    </ol>
    {flow !== "enroll" && (
      <p>
        <a href="/ui/profile" class="btn btn-link">
          Cancel
        </a>
      </p>
    )}
  </section>
);

/**
 * The code that confirms the new secret. Backup codes come after it: verify issues them, so none
 * sit in the page (or travel back) before MFA is on.
 */
export const VerifyForm = ({ flow, error }: { flow: SetupFlow; error?: string | undefined }) => (
  <form
    id="verify-form"
    class="stack"
    method="post"
    action="/ui/mfa/verify"
    hx-post="/ui/mfa/verify"
    hx-target="this"
    hx-swap="outerHTML"
    hx-disabled-elt="find button"
  >
    <input type="hidden" name="flow" value={flow} />
    {error && <Alert tone="error">{error}</Alert>}
    <CodeField id="verify-code" name="code" label="Code from the app" kind="totp" autofocus={!!error} />
    <div class="actions">
      <button type="submit" class="btn btn-primary">
        {flow === "move" ? "Confirm new device" : "Verify and turn on"}
      </button>
    </div>
  </form>
);

/** Shown exactly once, right after they are made: there is no way to see them again. */
export const BackupCodesPanel = ({
  codes,
  title,
  intro,
  continueLabel,
  productName,
}: {
  codes: string[];
  title: string;
  intro: string;
  continueLabel: string;
  productName: string;
}) => {
  const text = [
    `${productName} backup codes`,
    "Each code signs you in once if you cannot use your authenticator app.",
    "",
    ...codes.map((code) => groupDigits(code)),
    "",
  ].join("\n");
  return (
    <section id="mfa-card" class="card" aria-labelledby="codes-title">
      <div class="card-title-row">
        <span class="badge-icon badge-success">
          <Icon name="check" />
        </span>
        <h2 id="codes-title">{title}</h2>
      </div>
      <p>{intro}</p>
      <Alert tone="warning">
        <strong>Save these backup codes now. They will not be shown again.</strong> Each one signs you in once
        if you lose your phone. Keep them in a password manager or another safe place.
      </Alert>
      <ol class="backup-codes" id="backup-codes" aria-label="Backup codes">
        {codes.map((code) => (
          <li>
            <code>{groupDigits(code)}</code>
          </li>
        ))}
      </ol>
      <div class="actions">
        <button type="button" class="btn btn-secondary" data-copy={text}>
          <Icon name="copy" /> Copy codes
        </button>
        <a
          class="btn btn-secondary"
          download={`${productName.toLowerCase()}-backup-codes.txt`}
          href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}
        >
          <Icon name="download" /> Download as text
        </a>
        <a class="btn btn-primary" href="/ui/profile">
          {continueLabel}
        </a>
      </div>
    </section>
  );
};

/** The enrollment page's card: an authenticator app, or a passkey. */
export const StartSetupCard = ({
  tenantName,
  username,
  error,
}: {
  tenantName: string;
  username: string;
  error?: string | undefined;
}) => (
  <section id="mfa-card" class="stack" aria-labelledby="enroll-title">
    <div class="step-intro">
      <span class="badge-icon badge-warning">
        <Icon name="shield" />
      </span>
      <h1 id="enroll-title">Set up two-step verification</h1>
      <p class="muted">
        {tenantName} requires two-step verification for every account. Set it up now to finish signing in as{" "}
        <strong>{username}</strong>; it takes about a minute and needs an authenticator app on your phone.
      </p>
    </div>
    {error && <Alert tone="error">{error}</Alert>}
    <StartSetupForm flow="enroll" label="Start setup" block />
    {/* A passkey satisfies the requirement by itself: no authenticator app needed. */}
    <PasskeyForm action="/ui/passkeys" ceremony="create" options="/ui/passkeys/options" target="#mfa-card">
      <input type="hidden" name="name" value="Passkey" />
      <p class="center muted">or, on a device with a fingerprint, face or PIN unlock:</p>
      <PasskeyButton label="Use a passkey instead" block />
    </PasskeyForm>
  </section>
);

/** The button that asks for a new secret and swaps the setup panel (QR code and key) into #mfa-card. */
export const StartSetupForm = ({
  flow,
  label,
  block = false,
}: {
  flow: "enable" | "enroll";
  label: string;
  block?: boolean;
}) => (
  <form
    method="post"
    action="/ui/mfa/setup"
    hx-post="/ui/mfa/setup"
    hx-target="#mfa-card"
    hx-swap="outerHTML"
  >
    <input type="hidden" name="flow" value={flow} />
    <button type="submit" class={block ? "btn btn-primary btn-block" : "btn btn-primary"}>
      {label}
    </button>
  </form>
);
