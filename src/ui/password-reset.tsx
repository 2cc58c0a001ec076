// "Forgot your password?" and the page its emailed link opens, for people who are not signed in:
// the same domain functions as POST /auth/password/forgot and /auth/password/reset. The request
// page answers the same whatever account it names; the reset page signs nobody in. Their forms post
// through htmx like every other form (a plain post under Referrer-Policy: no-referrer says
// "Origin: null", refused as another site) and each answer replaces the card; opened directly,
// the same card arrives inside a bare page.
import { Hono } from "hono";
import { findResetLink, requestPasswordReset, resetPassword } from "../auth/password-reset";
import { type AppEnv, requestContext } from "../context";
import { NewPasswordFields } from "./account";
import { Alert, TextField } from "./components";
import { showErrorsInPlace } from "./errors";
import { formFields, fragment, type Markup, type UiContext } from "./http";

export const passwordResetRoutes = new Hono<AppEnv>();

const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

passwordResetRoutes.get("/password/forgot", (c) => {
  const tenant = c.req.query("tenant")?.trim().toLowerCase().slice(0, 63) ?? "";
  return card(c, <ForgotCard tenant={tenant} />);
});

passwordResetRoutes.post("/password/forgot", async (c) => {
  const field = await formFields(c);
  const tenant = field("tenant_id").trim().toLowerCase().slice(0, 63);
  const username = field("username").trim().slice(0, 256);
  if (!TENANT_PATTERN.test(tenant) || username === "") {
    const error = "Enter your username and your tenant (your organisation's ID, like demo).";
    return card(c, <ForgotCard tenant={tenant} username={username} error={error} />, 422);
  }
  try {
    await requestPasswordReset(requestContext(c), { tenantId: tenant, username });
  } catch (error) {
    return showErrorsInPlace(c, error, (message) => (
      <div class="stack">
        <ForgotCard tenant={tenant} username={username} error={message} />
      </div>
    ));
  }
  return card(c, <ForgotCard tenant={tenant} sent />);
});

const ForgotCard = ({
  tenant,
  username,
  error,
  sent = false,
}: {
  tenant: string;
  username?: string;
  error?: string;
  sent?: boolean;
}) => (
  <>
    <h1>Reset your password</h1>
    {sent ? (
      <>
        <Alert tone="success">
          If that account exists, we have emailed its address a link to choose a new password. The link works
          once, for 30 minutes.
        </Alert>
        <p class="muted">
          Nothing arrived? Check your spam folder, or ask your administrator to send a link.
        </p>
      </>
    ) : (
      <form class="stack" method="post" action="/ui/password/forgot" {...postInto("/ui/password/forgot")}>
        <p class="muted">We'll email you a link to choose a new password.</p>
        {error && <Alert tone="error">{error}</Alert>}
        <TextField
          id="forgot-username"
          name="username"
          label="Username"
          value={username}
          autocomplete="username"
          maxlength={256}
        />
        <TextField
          id="forgot-tenant"
          name="tenant_id"
          label="Tenant"
          hint="Your organisation's ID, for example demo."
          value={tenant}
          autocomplete="organization"
          maxlength={63}
        />
        <button type="submit" class="btn btn-primary btn-block">
          Email me a link
        </button>
      </form>
    )}
    <p class="center">
      <a href={tenant ? `/?tenant=${encodeURIComponent(tenant)}` : "/"}>Back to sign in</a>
    </p>
  </>
);

passwordResetRoutes.get("/password/reset", async (c) => {
  const token = c.req.query("token")?.slice(0, 200) ?? "";
  const found = await findResetLink(requestContext(c), token);
  if (!found) return card(c, <LinkGone />, 400, "Link expired");
  return card(c, <ResetCard token={token} username={found.user.username} />, 200, "Choose a new password");
});

passwordResetRoutes.post("/password/reset", async (c) => {
  const field = await formFields(c);
  const token = field("token").slice(0, 200);
  const next = field("new_password");
  const found = await findResetLink(requestContext(c), token);
  if (!found) return card(c, <LinkGone />, 400, "Link expired");
  const form = (errors: { next?: string; confirm?: string }) => (
    <ResetCard token={token} username={found.user.username} errors={errors} />
  );
  if (next !== field("confirm_password")) return card(c, form({ confirm: "The two passwords differ." }), 422);
  try {
    await resetPassword(requestContext(c), { token, newPassword: next });
  } catch (error) {
    return showErrorsInPlace(c, error, (message, apiError) => (
      <div class="stack">
        {apiError.code === "invalid_reset_token" ? <LinkGone /> : form({ next: message })}
      </div>
    ));
  }
  return card(
    c,
    <>
      <h1>Your password is set</h1>
      <Alert tone="success">
        Every session of your account was signed out. Sign in with the new password; if your account uses
        two-step verification, you will be asked for your code as usual.
      </Alert>
      <a class="btn btn-primary btn-block" href={`/?tenant=${encodeURIComponent(found.tenant.id)}`}>
        Sign in
      </a>
    </>,
    200,
    "Password set",
  );
});

const ResetCard = ({
  token,
  username,
  errors = {},
}: {
  token: string;
  username: string;
  errors?: { next?: string | undefined; confirm?: string | undefined };
}) => (
  <>
    <h1>Choose a new password</h1>
    <form class="stack" method="post" action="/ui/password/reset" {...postInto("/ui/password/reset")}>
      <p class="muted">
        For <strong>{username}</strong>. Setting it signs out every session of the account.
      </p>
      <input type="hidden" name="token" value={token} />
      {/* Lets password managers file the new password under the right account. */}
      <input type="hidden" name="username" value={username} autocomplete="username" />
      <NewPasswordFields ids={["reset-password", "reset-password-again"]} errors={errors} />
      <button type="submit" class="btn btn-primary btn-block">
        Set password
      </button>
    </form>
  </>
);

const LinkGone = () => (
  <>
    <h1>This link has expired</h1>
    <Alert tone="error">A reset link works once, for 30 minutes. Ask for a new one.</Alert>
    <a class="btn btn-primary btn-block" href="/ui/password/forgot">
      Ask for a new link
    </a>
  </>
);

/** The attributes that post a form through htmx and put the answer in place of this card. */
function postInto(action: string) {
  return { "hx-post": action, "hx-target": "closest .auth-card", "hx-swap": "innerHTML" };
}

/** The card's content: swapped in for htmx, inside a bare page when opened directly. */
function card(
  c: UiContext,
  node: Markup,
  status: 200 | 400 | 422 | 429 = 200,
  title = "Reset your password",
) {
  return fragment(c, <div class="stack">{node}</div>, status, title);
}
