// Re-authentication: the signed-in user proves their password again (and their second factor, when
// MFA is on), so that actions that add a factor can require a recent proof (ASVS 5 §7.5.1) without
// a stolen session being enough for them.
import { sql } from "drizzle-orm";
import { now } from "../clock";
import { claimSucceeded, runClaim } from "../db/claims";
import { ApiError } from "../errors";
import { enforceSignInAttempt } from "../limiter/limits";
import type { Outcome } from "../limiter/policy";
import { backupUseAudit, evaluateOwnCode, type MfaContext, notifyBackupUse } from "./mfa";
import { checkPassword } from "./password";
import { claimSecondFactor } from "./second-factor";
import { type Authenticated, FRESH_SIGN_IN_MS, markReauthenticated } from "./sessions";

export interface Reauthentication {
  password: string;
  /** A current TOTP or backup code; needed when MFA is on. */
  code?: string | undefined;
}

export interface Reauthenticated {
  /** Until when the session counts as freshly signed in. */
  freshUntil: number;
  /** The signed-in state with the session as it is now, for an action that follows in the same request. */
  auth: Authenticated;
}

/**
 * Checks the password (and the code) under the same budgets as a sign-in, then marks the session
 * as freshly authenticated.
 */
export async function reauthenticate(ctx: MfaContext, input: Reauthentication): Promise<Reauthenticated> {
  const { db, auth } = ctx;
  const user = auth.user;
  const passwordOk = await checkPassword(input.password, user.passwordHash, ctx.config.passwordPepper);
  const mfaOn = user.mfaEnabledAt !== null;
  const factor =
    passwordOk && mfaOn && input.code !== undefined ? await evaluateOwnCode(ctx, input.code) : null;
  const mfa: Outcome = factor === null ? "checked" : factor.kind === "invalid" ? "failure" : "success";
  await enforceSignInAttempt(ctx, {
    tenantId: user.tenantId,
    usernameKey: user.usernameKey,
    user: passwordOk ? user : undefined,
    password: passwordOk ? "success" : "failure",
    mfa,
    completed: false,
  });
  if (!passwordOk) throw new ApiError("invalid_password");

  const at = now();
  const result = {
    freshUntil: at + FRESH_SIGN_IN_MS,
    auth: { ...auth, session: { ...auth.session, authenticatedAt: at } },
  };
  if (!mfaOn) {
    await markReauthenticated(db, auth.session.id, at);
    return result;
  }
  if (factor === null || factor.kind === "invalid") throw new ApiError("invalid_mfa_code");
  // The code is claimed like any other use of it, so it cannot be replayed at sign-in afterwards.
  // The session's new mark is what the statements after the claim's own see of its success.
  const marked = sql`exists (select 1 from sessions where id = ${auth.session.id} and authenticated_at = ${at})`;
  const claimed = await runClaim(db, claimSecondFactor(db, user, factor), [
    markReauthenticated(db, auth.session.id, at, claimSucceeded),
    ...backupUseAudit(ctx, { factor }, marked),
  ]);
  if (!claimed) throw new ApiError("invalid_mfa_code");
  notifyBackupUse(ctx, { factor });
  return result;
}
