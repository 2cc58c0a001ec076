// Passkeys in the browser: the Profile card (add, rename, remove), passkey sign-in (alone, or as the
// second step) and enrollment with a passkey. public/js/passkeys.js asks the options routes here for
// a challenge, runs the WebAuthn ceremony and sends the form with its answer; the routes call the
// same domain functions as the JSON API (src/auth/passkeys.ts, src/auth/login.ts).
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { PasskeyName, TenantId } from "../api/schemas";
import { toCeremony } from "../api/shapes";
import { signInWithPasskey } from "../auth/login";
import {
  addPasskey,
  type Ceremony,
  confirmOptions,
  listPasskeys,
  PASSKEY_NAME_MAX_LENGTH,
  registrationOptions,
  removePasskey,
  renamePasskey,
  secondStepOptions,
  signInOptions,
} from "../auth/passkeys";
import { isFreshSignIn } from "../auth/sessions";
import { now } from "../clock";
import { type AppEnv, requestContext, signedInContext } from "../context";
import type { Passkey, User } from "../db/schema";
import { ApiError, toApiError } from "../errors";
import { requireAuth } from "../middleware/session";
import { Alert, CodeField, Icon, LocalTime, Pill, TextField } from "./components";
import { describeError, showErrorsInPlace } from "./errors";
import { formFields, fragment, MFA_COOKIE, redirect, setSessionCookie, type UiContext } from "./http";
import { BackupCodesPanel, StartSetupCard } from "./mfa-panels";
import { formAssertion, formProof, formRegistration, PasskeyButton, PasskeyForm } from "./passkey-forms";
import { ConfirmIdentity, confirmIfAsked } from "./reauth";

export const passkeyRoutes = new Hono<AppEnv>();

/** An options route's answer: the ceremony as JSON, or the error's words for the page to show. */
async function ceremonyJson(c: UiContext, start: () => Promise<Ceremony<object>>) {
  try {
    const ceremony = await start();
    return c.json(toCeremony(ceremony), 200);
  } catch (error) {
    const apiError = toApiError(error);
    const message =
      apiError.code === "reauthentication_required" ? "Enter your password first." : describeError(apiError);
    return c.json({ error: message }, apiError.status);
  }
}

// Sign-in with a passkey alone: the tenant is chosen first, the authenticator picks the account.
passkeyRoutes.post("/login/passkey/options", async (c) => {
  const field = await formFields(c);
  const tenant = TenantId.safeParse(field("tenant_id").trim().toLowerCase());
  if (!tenant.success) return c.json({ error: "Enter your tenant first, for example demo." }, 422);
  return ceremonyJson(c, () => signInOptions(requestContext(c), tenant.data));
});

passkeyRoutes.post("/login/passkey", async (c) => {
  const field = await formFields(c);
  const tenant = TenantId.safeParse(field("tenant_id").trim().toLowerCase());
  const assertion = formAssertion(field);
  try {
    if (!tenant.success || !assertion) throw new ApiError("invalid_passkey");
    const result = await signInWithPasskey(requestContext(c), { tenantId: tenant.data, ...assertion });
    if (result.kind !== "session") throw new ApiError("invalid_passkey");
    setSessionCookie(c, result.token, result.expiresAt);
    return redirect(c, "/ui/profile");
  } catch (error) {
    return showErrorsInPlace(c, error, (message) => <Alert tone="error">{message}</Alert>);
  }
});

// The second step's challenge: the pending sign-in's cookie says whose passkeys to ask for.
passkeyRoutes.post("/login/second-step/options", async (c) => {
  const field = await formFields(c);
  const mfaToken = getCookie(c, MFA_COOKIE)?.slice(0, 4096) ?? "";
  const tenantId = field("tenant_id").trim().toLowerCase();
  return ceremonyJson(c, () => secondStepOptions(requestContext(c), { tenantId, mfaToken }));
});

passkeyRoutes.post("/passkeys/options", requireAuth(["session", "enrollment"]), async (c) => {
  const field = await formFields(c);
  return ceremonyJson(c, async () => registrationOptions(await confirmIfAsked(signedInContext(c), field)));
});

passkeyRoutes.post("/passkeys/confirm-options", requireAuth(), (c) =>
  ceremonyJson(c, () => confirmOptions(signedInContext(c))),
);

passkeyRoutes.post("/passkeys", requireAuth(["session", "enrollment"]), async (c) => {
  const field = await formFields(c);
  const name = PasskeyName.safeParse(field("name") || "Passkey");
  const credential = formRegistration(field);
  const ctx = signedInContext(c);
  let added: Awaited<ReturnType<typeof addPasskey>>;
  try {
    if (!name.success)
      throw new ApiError("invalid_request", { message: "Give the passkey a name of one line." });
    if (!credential) throw new ApiError("invalid_passkey");
    added = await addPasskey(ctx, { name: name.data, credential, proof: formProof(field, "proof") });
  } catch (error) {
    // On the enrollment page the passkey was offered in the enrollment card; on Profile, in its own.
    if (ctx.auth.session.kind === "enrollment") {
      const { user, tenant } = ctx.auth;
      return showErrorsInPlace(c, error, (message) => (
        <StartSetupCard tenantName={tenant.name} username={user.username} error={message} />
      ));
    }
    return showErrorsInPlace(c, error, (message) => cardOf(c, ctx.auth.user, { error: message }));
  }
  if (added.session) setSessionCookie(c, added.session.token, added.session.expiresAt);
  if (!added.backupCodes)
    return fragment(c, await cardOf(c, ctx.auth.user, { notice: `Added ${added.passkey.name}.` }));
  // The first factor: MFA is on, and its backup codes are shown this once, where the MFA card was.
  c.header("HX-Retarget", "#mfa-card");
  c.header("HX-Reswap", "outerHTML");
  return fragment(
    c,
    <BackupCodesPanel
      codes={added.backupCodes}
      title="Two-step verification is on"
      intro={`Your passkey "${added.passkey.name}" signs you in from now on, with your fingerprint, face or device PIN.`}
      continueLabel={ctx.auth.session.kind === "enrollment" ? "Continue to your account" : "Done"}
      productName={c.var.config.productName}
    />,
  );
});

passkeyRoutes.post("/passkeys/:passkeyId/rename", requireAuth(), async (c) => {
  const field = await formFields(c);
  const name = PasskeyName.safeParse(field("name"));
  const ctx = signedInContext(c);
  try {
    if (!name.success)
      throw new ApiError("invalid_request", { message: "Give the passkey a name of one line." });
    await renamePasskey(ctx, c.req.param("passkeyId"), name.data);
  } catch (error) {
    return showErrorsInPlace(c, error, (message) => cardOf(c, ctx.auth.user, { error: message }));
  }
  return fragment(c, await cardOf(c, ctx.auth.user, { notice: `Renamed to ${name.data}.` }));
});

passkeyRoutes.post("/passkeys/:passkeyId/remove", requireAuth(), async (c) => {
  const field = await formFields(c);
  const ctx = signedInContext(c);
  let mfaOn: boolean;
  try {
    mfaOn = await removePasskey(ctx, c.req.param("passkeyId"), formProof(field));
  } catch (error) {
    return showErrorsInPlace(c, error, (message) => cardOf(c, ctx.auth.user, { error: message }));
  }
  if (!mfaOn) return redirect(c, "/ui/profile?notice=mfa-disabled");
  return fragment(c, await cardOf(c, ctx.auth.user, { notice: "The passkey was removed." }));
});

async function cardOf(c: UiContext, user: User, message: { error?: string; notice?: string }) {
  const owned = await listPasskeys(c.var.db, user.id);
  const fresh = isFreshSignIn(c.var.auth.session, now());
  return <PasskeysCard user={user} passkeys={owned} fresh={fresh} {...message} />;
}

/** Profile → Passkeys: the user's passkeys, and a form to add one. */
export const PasskeysCard = ({
  user,
  passkeys,
  fresh,
  error,
  notice,
}: {
  user: User;
  passkeys: Passkey[];
  /** Whether the session proved the password recently enough to add a factor without confirming. */
  fresh: boolean;
  error?: string | undefined;
  notice?: string | undefined;
}) => (
  <section id="passkeys-card" class="card" aria-labelledby="passkeys-title">
    <div class="card-title-row">
      <h2 id="passkeys-title">Passkeys</h2>
      <Pill tone={passkeys.length > 0 ? "success" : "neutral"}>{passkeys.length}</Pill>
    </div>
    <p>
      Sign in with your fingerprint, face or device PIN instead of a code. A passkey works only on this site,
      so a look-alike page cannot use it.
    </p>
    {error && <Alert tone="error">{error}</Alert>}
    {notice && <Alert tone="success">{notice}</Alert>}
    {passkeys.length > 0 && (
      <ul class="passkey-list">
        {passkeys.map((passkey) => (
          <PasskeyRow passkey={passkey} withCode={user.mfaEnabledAt !== null} />
        ))}
      </ul>
    )}
    <PasskeyForm
      action="/ui/passkeys"
      ceremony="create"
      options="/ui/passkeys/options"
      target="#passkeys-card"
      confirm={passkeys.length > 0 ? "/ui/passkeys/confirm-options" : undefined}
    >
      <TextField
        id="passkey-name"
        name="name"
        label="Name"
        value="Passkey"
        maxlength={PASSKEY_NAME_MAX_LENGTH}
      />
      {/* Beside a factor in force, adding one needs a current one, as moving to a new device does. */}
      {user.mfaEnabledAt !== null && (
        <CodeField
          id="passkey-proof-code"
          name="code"
          label="Current code from your app, or a backup code"
          kind="any"
          required={passkeys.length === 0}
          hint={passkeys.length > 0 ? "Or leave it empty to confirm with one of your passkeys." : undefined}
        />
      )}
      {!fresh && (
        <ConfirmIdentity
          withCode={user.mfaEnabledAt !== null}
          intro="You signed in a while ago. Enter your password (and a current code) to add a passkey."
        />
      )}
      <PasskeyButton label="Add a passkey" primary />
    </PasskeyForm>
  </section>
);

const PasskeyRow = ({ passkey, withCode }: { passkey: Passkey; withCode: boolean }) => {
  const base = `/ui/passkeys/${encodeURIComponent(passkey.id)}`;
  return (
    <li class="passkey" data-passkey-id={passkey.id}>
      <div class="passkey-facts">
        <strong>{passkey.name}</strong>
        {passkey.backupEligible && <Pill tone="neutral">Synced</Pill>}
        <span class="muted">
          Added <LocalTime at={passkey.createdAt} /> · Last used{" "}
          {passkey.lastUsedAt === null ? "never" : <LocalTime at={passkey.lastUsedAt} />}
        </span>
      </div>
      <details class="action">
        <summary>
          <span class="action-text">
            <strong>Rename or remove</strong>
          </span>
          <Icon name="chevron" />
        </summary>
        <div class="action-body stack">
          <form
            class="stack"
            method="post"
            action={`${base}/rename`}
            hx-post={`${base}/rename`}
            hx-target="#passkeys-card"
            hx-swap="outerHTML"
          >
            <TextField
              id={`rename-${passkey.id}`}
              name="name"
              label="Name"
              value={passkey.name}
              maxlength={PASSKEY_NAME_MAX_LENGTH}
            />
            <div class="actions">
              <button type="submit" class="btn btn-secondary">
                Rename
              </button>
            </div>
          </form>
          {withCode && (
            <form
              class="stack"
              method="post"
              action={`${base}/remove`}
              hx-post={`${base}/remove`}
              hx-target="#passkeys-card"
              hx-swap="outerHTML"
            >
              <CodeField
                id={`remove-code-${passkey.id}`}
                name="code"
                label="Current code from your app, or a backup code"
                kind="any"
              />
              <div class="actions">
                <button type="submit" class="btn btn-danger">
                  Remove with this code
                </button>
              </div>
            </form>
          )}
          <PasskeyForm
            action={`${base}/remove`}
            ceremony="get"
            options="/ui/passkeys/confirm-options"
            target="#passkeys-card"
          >
            <PasskeyButton label="Remove, confirming with a passkey" />
          </PasskeyForm>
        </div>
      </details>
    </li>
  );
};
