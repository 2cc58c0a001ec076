// Proving it is still you: the signed-in user's password again, and a current second factor when MFA
// is on, under the same attempt budgets as sign-in. Re-authentication (before adding a factor, ASVS 5
// §7.5.1) and a password change both start here, so a stolen session alone is enough for neither.
import { sql } from "drizzle-orm";
import { now } from "../clock";
import { claimSucceeded, runClaim, type Statement } from "../db/claims";
import { ApiError } from "../errors";
import { enforceSignInAttempt } from "../limiter/limits";
import type { Outcome } from "../limiter/policy";
import { backupUseAudit, evaluateOwnFactor, type MfaContext, notifyBackupUse } from "./mfa";
import { checkPassword } from "./password";
import { claimSecondFactor, type PasskeyAssertion, type ValidFactor } from "./second-factor";
import { type Authenticated, FRESH_SIGN_IN_MS, markReauthenticated } from "./sessions";

export interface IdentityCheck {
  password: string;
  /** A current TOTP or backup code, or a passkey assertion; one is needed when MFA is on. */
  code?: string | undefined;
  passkey?: PasskeyAssertion | undefined;
}

/**
 * What proved the identity: with MFA on, the code and the claim that spends it (the first statement
 * of the batch the action writes, so a code is good for one action); with MFA off, nothing to spend.
 */
export type IdentityProof = { factor: ValidFactor; claim: Statement } | { factor: null; claim: null };

/**
 * Checks the password (and the code) against the signed-in user's, counting the attempt as a
 * sign-in would; throws invalid_password, invalid_mfa_code or too_many_attempts.
 */
export async function proveIdentity(ctx: MfaContext, input: IdentityCheck): Promise<IdentityProof> {
  const user = ctx.auth.user;
  const passwordOk = await checkPassword(input.password, user.passwordHash, ctx.config.passwordPepper);
  const mfaOn = user.mfaEnabledAt !== null;
  const factor =
    passwordOk && mfaOn && (input.code !== undefined || input.passkey)
      ? await evaluateOwnFactor(ctx, input)
      : null;
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
  if (!mfaOn) return { factor: null, claim: null };
  if (factor === null || factor.kind === "invalid") throw new ApiError("invalid_mfa_code");
  return { factor, claim: claimSecondFactor(ctx.db, user, factor) };
}

export interface Reauthenticated {
  /** Until when the session counts as freshly signed in. */
  freshUntil: number;
  /** The signed-in state with the session as it is now, for an action that follows in the same request. */
  auth: Authenticated;
}

/** Proves the identity, then marks the session as freshly authenticated. */
export async function reauthenticate(ctx: MfaContext, input: IdentityCheck): Promise<Reauthenticated> {
  const { db, auth } = ctx;
  const proof = await proveIdentity(ctx, input);
  const at = now();
  const result = {
    freshUntil: at + FRESH_SIGN_IN_MS,
    auth: { ...auth, session: { ...auth.session, authenticatedAt: at } },
  };
  if (!proof.claim) {
    await markReauthenticated(db, auth.session.id, at);
    return result;
  }
  // The code is claimed like any other use of it, so it cannot be replayed at sign-in afterwards.
  // The session's new mark is what the statements after the claim's own see of its success.
  const marked = sql`exists (select 1 from sessions where id = ${auth.session.id} and authenticated_at = ${at})`;
  const claimed = await runClaim(db, proof.claim, [
    markReauthenticated(db, auth.session.id, at, claimSucceeded),
    ...backupUseAudit(ctx, proof, marked),
  ]);
  if (!claimed) throw new ApiError("invalid_mfa_code");
  notifyBackupUse(ctx, proof);
  return result;
}
