// Sign-in and sign-out for the browser. The page itself is static (public/index.html); these are
// the fragments its form asks for. The password leaves the page after the first step: with MFA on,
// the first step answers with the second step and an mfa token in an HttpOnly cookie, and swaps the
// credentials out of the form for the username and tenant alone; the second step posts those and
// the code, and the token stands for the password (src/auth/login.ts).
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod";
import { SignInPassword, SignInUsername, TenantId } from "../api/schemas";
import { type FirstFactor, type LoginResult, signIn } from "../auth/login";
import { revokeSession } from "../auth/sessions";
import { TOKEN_LIFETIME_MS } from "../auth/tokens";
import { now } from "../clock";
import { type AppEnv, requestContext } from "../context";
import { requireAuth } from "../middleware/session";
import { Alert, CodeField, Icon } from "./components";
import { showErrorsInPlace } from "./errors";
import { clearSessionCookie, formFields, fragment, redirect, setSessionCookie, type UiContext } from "./http";

export const loginRoutes = new Hono<AppEnv>();

type CodeKind = "totp" | "backup";

/** The pending sign-in between the two steps: HttpOnly, so no script on the page can read it. */
const MFA_COOKIE = "__Host-mfa";

const Account = z.object({ username: SignInUsername, tenant_id: TenantId });
const Credentials = Account.extend({ password: SignInPassword });

loginRoutes.post("/login", async (c) => {
  const field = await formFields(c);
  // The second step posts which kind of code it asked for; the first step posts none.
  const posted = field("code_kind");
  const codeKind: CodeKind | null = posted === "totp" || posted === "backup" ? posted : null;
  const fields = {
    username: field("username").trim(),
    // Tenant ids are lowercase slugs; people type "Demo" too.
    tenant_id: field("tenant_id").trim().toLowerCase(),
    password: field("password"),
  };
  const parsed = codeKind ? Account.safeParse(fields) : Credentials.safeParse(fields);
  if (!parsed.success) {
    const tenantWrong = parsed.error.issues.some((issue) => issue.path[0] === "tenant_id");
    return fragment(
      c,
      <Alert tone="error">
        {tenantWrong && fields.tenant_id !== ""
          ? "The tenant is your organisation's short ID: lowercase letters, digits and dashes, like demo."
          : codeKind
            ? "This sign-in has expired. Start over."
            : "Enter your username, password and tenant."}
      </Alert>,
      422,
    );
  }
  const { username, tenant_id: tenantId } = parsed.data;
  const mfaCode = codeKind ? field("mfa_code").slice(0, 64) : undefined;
  if (codeKind && mfaCode?.trim() === "") {
    return fragment(c, <SecondStep kind={codeKind} username={username} error="Enter the code." />, 422);
  }
  const first: FirstFactor = codeKind
    ? { mfaToken: getCookie(c, MFA_COOKIE)?.slice(0, 4096) ?? "" }
    : { password: fields.password };

  let result: LoginResult;
  try {
    result = await signIn(requestContext(c), { tenantId, username, mfaCode, ...first });
  } catch (error) {
    return showErrorsInPlace(c, error, (message, apiError) => {
      if (apiError.code === "invalid_mfa_token") {
        clearMfaCookie(c);
        return <ExpiredSignIn />;
      }
      return codeKind ? (
        <SecondStep kind={codeKind} username={username} error={message} />
      ) : (
        <Alert tone="error">{message}</Alert>
      );
    });
  }
  switch (result.kind) {
    case "mfa_required":
      setCookie(c, MFA_COOKIE, result.mfaToken, {
        httpOnly: true,
        secure: true,
        sameSite: "Strict",
        path: "/",
        maxAge: Math.max(0, Math.floor((result.expiresAt - now()) / 1000)),
      });
      return fragment(
        c,
        <>
          <SecondStep kind="totp" username={username} />
          <AccountOnly username={username} tenantId={tenantId} />
        </>,
      );
    case "enrollment_required":
      // The enrollment token opens only MFA setup and verify; it rides in the same cookie.
      setSessionCookie(c, result.enrollmentToken, now() + TOKEN_LIFETIME_MS.enrollment);
      return redirect(c, "/ui/enroll");
    case "session":
      if (codeKind) clearMfaCookie(c);
      setSessionCookie(c, result.token, result.expiresAt);
      return redirect(c, "/ui/profile");
  }
});

function clearMfaCookie(c: UiContext): void {
  deleteCookie(c, MFA_COOKIE, { httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
}

/**
 * Takes the place of the credentials in the form (an out-of-band swap): the username and tenant the
 * second step posts, and no password field any more.
 */
const AccountOnly = ({ username, tenantId }: { username: string; tenantId: string }) => (
  <div id="credentials" hx-swap-oob="true">
    <input type="hidden" name="username" value={username} />
    <input type="hidden" name="tenant_id" value={tenantId} />
  </div>
);

const ExpiredSignIn = () => (
  <div id="second-step" class="stack">
    <Alert tone="error">This sign-in has expired. Start over with your password.</Alert>
    <a class="btn btn-primary btn-block" href="/">
      Start over
    </a>
  </div>
);

/** "Use a backup code instead" and back: the second step for the other kind of code. */
loginRoutes.get("/login/code", (c) => {
  const kind: CodeKind = c.req.query("kind") === "backup" ? "backup" : "totp";
  return fragment(c, <SecondStep kind={kind} />);
});

loginRoutes.post("/logout", requireAuth(["session", "enrollment"]), async (c) => {
  await revokeSession(c.var.db, c.var.auth.session.id);
  clearSessionCookie(c);
  return redirect(c, "/?signed-out");
});

const SecondStep = ({
  kind,
  username,
  error,
}: {
  kind: CodeKind;
  username?: string | undefined;
  error?: string | undefined;
}) => (
  <div id="second-step" class="stack">
    <div class="step-intro">
      <span class="badge-icon">
        <Icon name={kind === "totp" ? "lock" : "key"} />
      </span>
      <h2>{kind === "totp" ? "Two-step verification" : "Use a backup code"}</h2>
      <p class="muted">
        {kind === "totp"
          ? "Open your authenticator app and enter the 6-digit code"
          : "Enter one of the 8-digit backup codes you saved when you turned on two-step verification. Each code works once"}
        {username ? (
          <>
            {" "}
            for <strong>{username}</strong>.
          </>
        ) : (
          "."
        )}
      </p>
    </div>
    <input type="hidden" name="code_kind" value={kind} />
    {error && <Alert tone="error">{error}</Alert>}
    <CodeField
      id="mfa-code"
      name="mfa_code"
      label={kind === "totp" ? "Authentication code" : "Backup code"}
      kind={kind}
      autofocus
    />
    <button type="submit" class="btn btn-primary btn-block">
      Verify
    </button>
    <div class="step-links">
      <button
        type="button"
        class="btn btn-link"
        hx-get={`/ui/login/code?kind=${kind === "totp" ? "backup" : "totp"}`}
        hx-target="#login-feedback"
        hx-swap="innerHTML"
      >
        {kind === "totp" ? "Use a backup code instead" : "Use your authenticator app instead"}
      </button>
      <a class="btn btn-link" href="/">
        Start over
      </a>
    </div>
  </div>
);
