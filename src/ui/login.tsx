// Sign-in and sign-out for the browser. The page itself is static (public/index.html); these are
// the fragments its form asks for. The password leaves the page after the first step: with MFA on,
// the first step answers with the second step and an mfa token in an HttpOnly cookie, and swaps the
// credentials out of the form for the username and tenant alone; the second step posts those and
// the code, and the token stands for the password (src/auth/login.ts).
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod";
import { SignInPassword, SignInUsername, TenantId } from "../api/schemas";
import { type FactorName, type FirstFactor, type LoginResult, signIn } from "../auth/login";
import { revokeSession } from "../auth/sessions";
import { TOKEN_LIFETIME_MS } from "../auth/tokens";
import { now } from "../clock";
import { type AppEnv, requestContext } from "../context";
import { requireAuth } from "../middleware/session";
import { Alert, CodeField, Icon } from "./components";
import { showErrorsInPlace } from "./errors";
import {
  clearSessionCookie,
  formFields,
  fragment,
  MFA_COOKIE,
  redirect,
  setSessionCookie,
  type UiContext,
} from "./http";
import { formAssertion, PasskeyButton, PasskeyFields } from "./passkey-forms";

export const loginRoutes = new Hono<AppEnv>();

type CodeKind = "totp" | "backup" | "passkey";
const CODE_KINDS: readonly CodeKind[] = ["totp", "backup", "passkey"];

const Account = z.object({ username: SignInUsername, tenant_id: TenantId });
const Credentials = Account.extend({ password: SignInPassword });

loginRoutes.post("/login", async (c) => {
  const field = await formFields(c);
  // The second step posts which kind of code it asked for; the first step posts none.
  const posted = field("code_kind");
  const codeKind = CODE_KINDS.find((kind) => kind === posted) ?? null;
  // Which factors the account has, as the first step said, so the second offers only those.
  const factors = parseFactors(field("factors"));
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
  const mfaCode = codeKind && codeKind !== "passkey" ? field("mfa_code").slice(0, 64) : undefined;
  const mfaPasskey = codeKind === "passkey" ? formAssertion(field) : undefined;
  if ((mfaCode !== undefined && mfaCode.trim() === "") || (codeKind === "passkey" && !mfaPasskey)) {
    const error = codeKind === "passkey" ? "Use your passkey to continue." : "Enter the code.";
    return fragment(
      c,
      <SecondStep kind={codeKind ?? "totp"} factors={factors} username={username} error={error} />,
      422,
    );
  }
  const first: FirstFactor = codeKind
    ? { mfaToken: getCookie(c, MFA_COOKIE)?.slice(0, 4096) ?? "" }
    : { password: fields.password };

  let result: LoginResult;
  try {
    result = await signIn(requestContext(c), { tenantId, username, mfaCode, mfaPasskey, ...first });
  } catch (error) {
    return showErrorsInPlace(c, error, (message, apiError) => {
      if (apiError.code === "invalid_mfa_token") {
        clearMfaCookie(c);
        return <ExpiredSignIn />;
      }
      return codeKind ? (
        <SecondStep kind={codeKind} factors={factors} username={username} error={message} />
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
          {/* A passkey first when the account has one: it cannot be phished. */}
          <SecondStep
            kind={result.factors.includes("passkey") ? "passkey" : "totp"}
            factors={result.factors}
            username={username}
          />
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

/** "Use a backup code instead" and back: the second step for another factor. */
loginRoutes.get("/login/code", (c) => {
  const asked = c.req.query("kind");
  const kind = CODE_KINDS.find((k) => k === asked) ?? "totp";
  return fragment(c, <SecondStep kind={kind} factors={parseFactors(c.req.query("factors") ?? "")} />);
});

function parseFactors(value: string): FactorName[] {
  const factors = value.split(",").filter((f): f is FactorName => f === "totp" || f === "passkey");
  return factors.length > 0 ? factors : ["totp"];
}

const STEP_TEXT: Record<CodeKind, { icon: "lock" | "key"; title: string; intro: string; other: string }> = {
  passkey: {
    icon: "key",
    title: "Use your passkey",
    intro: "Confirm with your fingerprint, face or device PIN",
    other: "Use your passkey instead",
  },
  totp: {
    icon: "lock",
    title: "Two-step verification",
    intro: "Open your authenticator app and enter the 6-digit code",
    other: "Use your authenticator app instead",
  },
  backup: {
    icon: "key",
    title: "Use a backup code",
    intro:
      "Enter one of the 8-digit backup codes you saved when you turned on two-step verification. Each code works once",
    other: "Use a backup code instead",
  },
};

loginRoutes.post("/logout", requireAuth(["session", "enrollment"]), async (c) => {
  await revokeSession(c.var.db, c.var.auth.session.id);
  clearSessionCookie(c);
  return redirect(c, "/?signed-out");
});

const SecondStep = ({
  kind,
  factors,
  username,
  error,
}: {
  kind: CodeKind;
  factors: FactorName[];
  username?: string | undefined;
  error?: string | undefined;
}) => {
  const text = STEP_TEXT[kind];
  // The other ways this account can answer: its factors, and a backup code always.
  const others = CODE_KINDS.filter(
    (other) => other !== kind && (other === "backup" || factors.includes(other)),
  );
  return (
    <div id="second-step" class="stack">
      <div class="step-intro">
        <span class="badge-icon">
          <Icon name={text.icon} />
        </span>
        <h2>{text.title}</h2>
        <p class="muted">
          {text.intro}
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
      <input type="hidden" name="factors" value={factors.join(",")} />
      {error && <Alert tone="error">{error}</Alert>}
      {kind === "passkey" ? (
        <>
          <PasskeyFields />
          <PasskeyButton label="Use your passkey" primary block options="/ui/login/second-step/options" />
          <p class="hint" role="status" data-passkey-status="" />
        </>
      ) : (
        <>
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
        </>
      )}
      <div class="step-links">
        {others.map((other) => (
          <button
            type="button"
            class="btn btn-link"
            hx-get={`/ui/login/code?kind=${other}&factors=${factors.join(",")}`}
            hx-target="#login-feedback"
            hx-swap="innerHTML"
          >
            {STEP_TEXT[other].other}
          </button>
        ))}
        <a class="btn btn-link" href="/">
          Start over
        </a>
      </div>
    </div>
  );
};
