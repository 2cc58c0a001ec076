// Profile (user menu → Profile) and the forced enrollment page: turning MFA on, moving to a new
// device, regenerating backup codes and turning MFA off, each through the same domain functions the
// JSON API calls (src/auth/mfa.ts), each change confirmed with a fresh code. The password and
// sessions cards are in ./account.tsx.

import { Hono } from "hono";
import { BACKUP_CODE_COUNT } from "../auth/backup-codes";
import { enforcementFor } from "../auth/enforcement";
import {
  countUnusedBackupCodes,
  disableMfa,
  regenerateBackupCodes,
  startSetup,
  verifySetup,
} from "../auth/mfa";
import { listPasskeys } from "../auth/passkeys";
import { isFreshSignIn } from "../auth/sessions";
import { now } from "../clock";
import { type AppEnv, signedInContext } from "../context";
import type { Tenant, User } from "../db/schema";
import { requireAuth } from "../middleware/session";
import { PasswordCard, sessionsCard } from "./account";
import { Alert, CodeField, Icon, LocalTime, Pill } from "./components";
import { showErrorsInPlace } from "./errors";
import { formFields, fragment, page, redirect, setSessionCookie, type UiContext } from "./http";
import { AppPage, BarePage, PageHeader, type Viewer } from "./layout";
import {
  BackupCodesPanel,
  parseFlow,
  type SetupFlow,
  SetupPanel,
  StartSetupCard,
  StartSetupForm,
  VerifyForm,
} from "./mfa-panels";
import { formProof } from "./passkey-forms";
import { PasskeysCard } from "./passkeys";
import { type ConfirmationErrors, ConfirmIdentity, confirmationError, confirmIfAsked } from "./reauth";

export const profileRoutes = new Hono<AppEnv>();

/** Who is looking, and whether a grace countdown applies to them (under `tenant`'s settings). */
export function viewerOf(c: UiContext, tenant = c.var.auth.tenant): Viewer {
  const { user } = c.var.auth;
  return {
    user,
    tenant,
    enforcement: enforcementFor(tenant, user, now()),
    productName: c.var.config.productName,
  };
}

/** Messages a redirect back to Profile may carry; only these keys are ever shown. */
const NOTICES: Record<string, string> = {
  "mfa-disabled": "Two-step verification is off. Your other sessions have been signed out.",
};

profileRoutes.get("/profile", requireAuth(), async (c) => {
  const viewer = viewerOf(c);
  const { user, tenant } = viewer;
  const [remaining, owned] = await Promise.all([remainingCodes(c, user), listPasskeys(c.var.db, user.id)]);
  const notice = NOTICES[c.req.query("notice") ?? ""];
  return page(
    c,
    <AppPage viewer={viewer} title="Profile" section="profile">
      <PageHeader title="Profile" lead="Your account and how you sign in." />
      {notice && <Alert tone="success">{notice}</Alert>}
      <div class="profile-grid">
        <AccountCard user={user} tenant={tenant} />
        <MfaCard user={user} tenant={tenant} remaining={remaining} />
        <PasskeysCard user={user} passkeys={owned} fresh={isFreshSignIn(c.var.auth.session, now())} />
        <PasswordCard user={user} />
        {await sessionsCard(c)}
      </div>
    </AppPage>,
  );
});

/** Where sign-in sends users whose MFA is due: nothing else opens until they enroll. */
profileRoutes.get("/enroll", requireAuth(["session", "enrollment"]), (c) => {
  const { session, user, tenant } = c.var.auth;
  if (session.kind === "session" && enforcementFor(tenant, user, now()).kind !== "blocked") {
    return redirect(c, "/ui/profile");
  }
  return page(
    c,
    <BarePage title="Set up two-step verification" productName={c.var.config.productName}>
      <div class="auth-card auth-card-wide">
        <StartSetupCard tenantName={tenant.name} username={user.username} />
        <form method="post" action="/ui/logout" hx-post="/ui/logout" class="center">
          <button type="submit" class="btn btn-link">
            Sign out
          </button>
        </form>
      </div>
    </BarePage>,
  );
});

profileRoutes.post("/mfa/setup", requireAuth(["session", "enrollment"]), async (c) => {
  const field = await formFields(c);
  const flow = parseFlow(field("flow"));
  const code = field("code").slice(0, 64);
  const { user, tenant } = c.var.auth;
  try {
    const ctx = await confirmIfAsked(signedInContext(c), field);
    // A move proves the current factor with its own code; the one that confirmed was spent.
    if (flow === "move" && code === "") {
      const remaining = await remainingCodes(c, user);
      return fragment(
        c,
        <MfaCard user={user} tenant={tenant} remaining={remaining} open="move" notice={MOVE_CONFIRMED} />,
      );
    }
    const setup = await startSetup(ctx, flow === "move" ? formProof(field) : {});
    return fragment(c, <SetupPanel setup={setup} flow={flow} />);
  } catch (error) {
    const asked = confirmationError(error, field);
    if (asked) {
      return showErrorsInPlace(c, error, () => (
        <ConfirmCard flow={flow} withCode={user.mfaEnabledAt !== null} errors={asked} />
      ));
    }
    if (flow === "enroll") {
      return showErrorsInPlace(c, error, (message) => (
        <StartSetupCard tenantName={tenant.name} username={user.username} error={message} />
      ));
    }
    const remaining = await remainingCodes(c, user);
    return showErrorsInPlace(c, error, (message) => (
      <MfaCard
        user={user}
        tenant={tenant}
        remaining={remaining}
        open={flow === "move" ? "move" : undefined}
        error={message}
      />
    ));
  }
});

const MOVE_CONFIRMED =
  "Confirmed. Now enter a new code from your app (or a backup code) to move to a new device.";

profileRoutes.post("/mfa/verify", requireAuth(["session", "enrollment"]), async (c) => {
  const field = await formFields(c);
  const flow = parseFlow(field("flow"));
  let result: Awaited<ReturnType<typeof verifySetup>>;
  try {
    result = await verifySetup(signedInContext(c), field("code").slice(0, 64), { issueBackupCodes: true });
  } catch (error) {
    return showErrorsInPlace(c, error, (message) => <VerifyForm flow={flow} error={message} />);
  }
  // Verify with an enrollment token answers with a full session: it replaces the token in the cookie.
  if (result.session) setSessionCookie(c, result.session.token, result.session.expiresAt);
  c.header("HX-Retarget", "#mfa-card");
  c.header("HX-Reswap", "outerHTML");
  return fragment(
    c,
    <>
      <BackupCodesPanel
        codes={result.backupCodes ?? []}
        title={flow === "move" ? "Your new device is ready" : "Two-step verification is on"}
        intro={
          flow === "move"
            ? "Sign in with codes from your new device from now on; the old one no longer works. Your backup codes were replaced too."
            : "From now on you'll enter a code from your authenticator app when you sign in."
        }
        continueLabel={flow === "enroll" ? "Continue to your account" : "Done"}
        productName={c.var.config.productName}
      />
      {/* The grace banner has done its job (the enrollment page has none). */}
      {flow !== "enroll" && <div id="grace-banner" hidden hx-swap-oob="true"></div>}
    </>,
  );
});

profileRoutes.post("/mfa/backup-codes", requireAuth(), async (c) => {
  const field = await formFields(c);
  try {
    const codes = await regenerateBackupCodes(signedInContext(c), formProof(field));
    return fragment(
      c,
      <BackupCodesPanel
        codes={codes}
        title="New backup codes"
        intro="Your previous backup codes no longer work."
        continueLabel="Done"
        productName={c.var.config.productName}
      />,
    );
  } catch (error) {
    return showActionError(c, error, "regenerate");
  }
});

profileRoutes.post("/mfa/disable", requireAuth(), async (c) => {
  const field = await formFields(c);
  try {
    await disableMfa(signedInContext(c), formProof(field));
  } catch (error) {
    return showActionError(c, error, "disable");
  }
  return redirect(c, "/ui/profile?notice=mfa-disabled");
});

async function showActionError(c: UiContext, error: unknown, open: MfaAction) {
  const { user, tenant } = c.var.auth;
  const remaining = await remainingCodes(c, user);
  return showErrorsInPlace(c, error, (message) => (
    <MfaCard user={user} tenant={tenant} remaining={remaining} open={open} error={message} />
  ));
}

function remainingCodes(c: UiContext, user: User): Promise<number> {
  return user.mfaEnabledAt === null ? Promise.resolve(0) : countUnusedBackupCodes(c.var.db, user.id);
}

const AccountCard = ({ user, tenant }: { user: User; tenant: Tenant }) => (
  <section class="card" aria-labelledby="account-title">
    <h2 id="account-title">Account</h2>
    <dl class="facts">
      <div>
        <dt>Username</dt>
        <dd>{user.username}</dd>
      </div>
      <div>
        <dt>Email</dt>
        <dd>{user.email}</dd>
      </div>
      <div>
        <dt>Role</dt>
        <dd>{user.role === "admin" ? "Admin" : "Member"}</dd>
      </div>
      <div>
        <dt>Organisation</dt>
        <dd>
          {tenant.name} <span class="muted">({tenant.id})</span>
        </dd>
      </div>
    </dl>
  </section>
);

type MfaAction = "move" | "regenerate" | "disable";

const MfaCard = ({
  user,
  tenant,
  remaining,
  open,
  error,
  notice,
}: {
  user: User;
  tenant: Tenant;
  remaining: number;
  open?: MfaAction | undefined;
  error?: string | undefined;
  /** A message for the open panel (what to do next). */
  notice?: string | undefined;
}) => {
  const enabled = user.mfaEnabledAt !== null;
  // An error belongs in the panel that asked; when that panel is not offered, above the actions.
  const panelShown = open !== undefined && !(open === "disable" && tenant.mfaRequired);
  return (
    <section id="mfa-card" class="card" aria-labelledby="mfa-title">
      <div class="card-title-row">
        <h2 id="mfa-title">Two-step verification</h2>
        {enabled ? <Pill tone="success">On</Pill> : <Pill tone="neutral">Off</Pill>}
      </div>
      {!enabled && (
        <>
          <p>
            Protect your account with a 6-digit code from an authenticator app on your phone, asked for after
            your password.
          </p>
          {error && <Alert tone="error">{error}</Alert>}
          <StartSetupForm flow="enable" label="Enable MFA" />
        </>
      )}
      {enabled && user.mfaEnabledAt !== null && (
        <>
          {error && !panelShown && <Alert tone="error">{error}</Alert>}
          <dl class="facts">
            <div>
              <dt>Turned on</dt>
              <dd>
                <LocalTime at={user.mfaEnabledAt} />
              </dd>
            </div>
            <div>
              <dt>Backup codes</dt>
              <dd id="backup-codes-remaining">
                {remaining} of {BACKUP_CODE_COUNT} remaining
                {remaining <= 3 && (
                  <>
                    {" "}
                    <Pill tone="warning">Running low</Pill>
                  </>
                )}
              </dd>
            </div>
          </dl>
          <div class="action-list">
            <MfaActionPanel
              action="move"
              title={user.totpSecret === null ? "Add an authenticator app" : "Move to a new device"}
              description={
                user.totpSecret === null
                  ? "Codes from an app, beside your passkeys. Your backup codes are replaced too."
                  : "Set up a new phone or app. Your backup codes are replaced too."
              }
              submit="Continue"
              endpoint="/ui/mfa/setup"
              open={open}
              error={error}
              notice={notice}
            />
            <MfaActionPanel
              action="regenerate"
              title="Regenerate backup codes"
              description="Get ten new codes; the ones you have stop working."
              submit="Generate new codes"
              endpoint="/ui/mfa/backup-codes"
              open={open}
              error={error}
            />
            {tenant.mfaRequired ? (
              <p class="action-note muted">
                <Icon name="lock" /> {tenant.name} requires two-step verification, so it can't be turned off.
              </p>
            ) : (
              <MfaActionPanel
                action="disable"
                title="Disable MFA"
                description="Sign-in will ask only for your password. Your other sessions are signed out."
                submit="Disable MFA"
                endpoint="/ui/mfa/disable"
                open={open}
                error={error}
                danger
              />
            )}
          </div>
        </>
      )}
    </section>
  );
};

/** One row of the MFA actions: it opens to ask for a current code before anything changes. */
const MfaActionPanel = ({
  action,
  title,
  description,
  submit,
  endpoint,
  open,
  error,
  notice,
  danger = false,
}: {
  action: MfaAction;
  title: string;
  description: string;
  submit: string;
  endpoint: string;
  open: MfaAction | undefined;
  error: string | undefined;
  notice?: string | undefined;
  danger?: boolean;
}) => (
  <details class="action" open={open === action} data-action={action}>
    <summary>
      <span class="action-text">
        <strong>{title}</strong>
        <span class="muted">{description}</span>
      </span>
      <Icon name="chevron" />
    </summary>
    <form
      class="action-body stack"
      method="post"
      action={endpoint}
      hx-post={endpoint}
      hx-target="#mfa-card"
      hx-swap="outerHTML"
      hx-disabled-elt="find button"
    >
      {action === "move" && <input type="hidden" name="flow" value="move" />}
      {open === action && error && <Alert tone="error">{error}</Alert>}
      {open === action && notice && <Alert tone="success">{notice}</Alert>}
      <CodeField
        id={`${action}-code`}
        name="code"
        label="Current code from your app, or a backup code"
        kind="any"
        autofocus={open === action && (!!error || !!notice)}
      />
      <div class="actions">
        <button type="submit" class={danger ? "btn btn-danger" : "btn btn-primary"}>
          {submit}
        </button>
      </div>
    </form>
  </details>
);

/**
 * A session whose password was proved more than a few minutes ago confirms it before a factor is
 * added or moved (a stolen session alone must not be able to enroll someone else's authenticator).
 */
const ConfirmCard = ({
  flow,
  withCode,
  errors,
}: {
  flow: SetupFlow;
  withCode: boolean;
  errors: ConfirmationErrors;
}) => (
  <section id="mfa-card" class="card" aria-labelledby="confirm-title">
    <h2 id="confirm-title">Confirm it's you</h2>
    <form
      class="stack"
      method="post"
      action="/ui/mfa/setup"
      hx-post="/ui/mfa/setup"
      hx-target="#mfa-card"
      hx-swap="outerHTML"
      hx-disabled-elt="find button"
    >
      <input type="hidden" name="flow" value={flow} />
      <ConfirmIdentity
        withCode={withCode}
        errors={errors}
        intro={
          flow === "move"
            ? "You signed in a while ago. Enter your password and a current code before you move to a new device."
            : "You signed in a while ago. Enter your password to turn on two-step verification."
        }
      />
      <div class="actions">
        <button type="submit" class="btn btn-primary">
          Continue
        </button>
        <a href="/ui/profile" class="btn btn-link">
          Cancel
        </a>
      </div>
    </form>
  </section>
);
