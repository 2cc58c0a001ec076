// Sign-in and sign-out for the browser. The page itself is static (public/index.html); these are
// the fragments its form asks for. The password never comes back from the server: the second step
// is swapped into the same form, whose hidden first-step fields are posted again with the code,
// exactly as the API's two-step login expects.
import { Hono } from "hono";
import * as z from "zod";
import { SignInPassword, SignInUsername, TenantId } from "../api/schemas";
import { type LoginResult, signIn } from "../auth/login";
import { revokeSession } from "../auth/sessions";
import { TOKEN_LIFETIME_MS } from "../auth/tokens";
import { now } from "../clock";
import { type AppEnv, requestContext } from "../context";
import { requireAuth } from "../middleware/session";
import { Alert, CodeField, Icon } from "./components";
import { showErrorsInPlace } from "./errors";
import { clearSessionCookie, formFields, fragment, redirect, setSessionCookie } from "./http";

export const loginRoutes = new Hono<AppEnv>();

type CodeKind = "totp" | "backup";

const Credentials = z.object({ username: SignInUsername, password: SignInPassword, tenant_id: TenantId });

loginRoutes.post("/login", async (c) => {
  const field = await formFields(c);
  const parsed = Credentials.safeParse({
    username: field("username").trim(),
    password: field("password"),
    // Tenant ids are lowercase slugs; people type "Demo" too.
    tenant_id: field("tenant_id").trim().toLowerCase(),
  });
  if (!parsed.success) {
    const tenantWrong = parsed.error.issues.some((issue) => issue.path[0] === "tenant_id");
    return fragment(
      c,
      <Alert tone="error">
        {tenantWrong && field("tenant_id").trim() !== ""
          ? "The tenant is your organisation's short ID: lowercase letters, digits and dashes, like demo."
          : "Enter your username, password and tenant."}
      </Alert>,
      422,
    );
  }
  const { username, password, tenant_id: tenantId } = parsed.data;
  // The second step posts which kind of code it asked for; the first step posts none.
  const posted = field("code_kind");
  const codeKind: CodeKind | null = posted === "totp" || posted === "backup" ? posted : null;
  const mfaCode = codeKind ? field("mfa_code").slice(0, 64) : undefined;
  if (codeKind && mfaCode?.trim() === "") {
    return fragment(c, <SecondStep kind={codeKind} username={username} error="Enter the code." />, 422);
  }

  let result: LoginResult;
  try {
    result = await signIn(requestContext(c), { tenantId, username, password, mfaCode });
  } catch (error) {
    return showErrorsInPlace(c, error, (message) =>
      codeKind ? (
        <SecondStep kind={codeKind} username={username} error={message} />
      ) : (
        <Alert tone="error">{message}</Alert>
      ),
    );
  }
  switch (result.kind) {
    case "mfa_required":
      return fragment(c, <SecondStep kind="totp" username={username} />);
    case "enrollment_required":
      // The enrollment token opens only MFA setup and verify; it rides in the same cookie.
      setSessionCookie(c, result.enrollmentToken, now() + TOKEN_LIFETIME_MS.enrollment);
      return redirect(c, "/ui/enroll");
    case "session":
      setSessionCookie(c, result.token, result.expiresAt);
      return redirect(c, "/ui/profile");
  }
});

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
