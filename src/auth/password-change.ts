// Changing a password, by its owner (the current password and, with MFA on, a code) or through a
// reset link: the new hash, the audit event, the end of other sessions and of every reset link
// land in one batch, and only over the hash the change was decided on.
import { and, eq, isNull, type SQL } from "drizzle-orm";
import type { SignedInContext } from "../context";
import { anchorExists, changedRows, claimSucceeded, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { passwordResets, type Tenant, type User, users } from "../db/schema";
import { ApiError } from "../errors";
import { securityEmail } from "../reminders/jobs";
import { type AuditRow, insertAuditWhen, ownAuditRow } from "./audit";
import { backupUseAudit, notifyBackupUse } from "./mfa";
import { hashPassword } from "./password";
import { assertAcceptablePassword } from "./password-policy";
import { proveIdentity } from "./reauthentication";
import type { PasskeyAssertion } from "./second-factor";
import { revokeUserSessions } from "./sessions";

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
  /** A current TOTP or backup code, or a passkey's answer; one is needed when MFA is on. */
  code?: string | undefined;
  passkey?: PasskeyAssertion | undefined;
}

/**
 * The signed-in user replaces their password. The session making the change stays; every other
 * one ends, and so does every reset link, and the user gets an email.
 */
export async function changePassword(ctx: SignedInContext, change: PasswordChange): Promise<void> {
  const { db, auth } = ctx;
  const { user, tenant } = auth;
  // Checked before the proof, so a refused password spends no code.
  await assertAcceptablePassword(ctx.env.ASSETS, change.newPassword, passwordWords(user, tenant));
  const proof = await proveIdentity(ctx, {
    password: change.currentPassword,
    code: change.code,
    passkey: change.passkey,
  });
  const hash = await hashPassword(change.newPassword, ctx.config.passwordPepper);
  const audit = ownAuditRow(user, "user.password_changed", ctx.ip);
  const statements = replacePassword(db, user, hash, audit, {
    keepSessionId: auth.session.id,
    condition: proof.claim ? claimSucceeded : undefined,
  });
  const won = anchorExists("audit_events", audit.id);
  const batch: Statement[] = proof.claim
    ? [proof.claim, ...statements, ...backupUseAudit(ctx, proof, won)]
    : statements;
  const results = await db.batch(batch as [Statement, ...Statement[]]);
  if (proof.claim && changedRows(results[0]) === 0) throw new ApiError("invalid_mfa_code");
  // The hash changed since this request read it: the password it proved is not current any more.
  if (changedRows(results[proof.claim ? 1 : 0]) === 0) throw new ApiError("invalid_password");
  ctx.notify(securityEmail(user, tenant.name, "password_changed"));
  if (proof.factor) notifyBackupUse(ctx, proof);
}

/** The words of the account a password must not contain (src/auth/password-policy.ts). */
export function passwordWords(user: Pick<User, "username">, tenant: Pick<Tenant, "id" | "name">) {
  return { words: [user.username, tenant.id, tenant.name] };
}

/**
 * The statements that put a new password in place, the first being the update of the hash (only
 * over `user.passwordHash`, only for an active account, only when `condition` holds): then the
 * event, as the anchor of what follows; the end of sessions (all but `keepSessionId`); and the
 * end of every reset link of the user.
 */
export function replacePassword(
  db: Db,
  user: User,
  newHash: string,
  audit: AuditRow,
  options: { keepSessionId?: string | undefined; condition?: SQL | undefined },
): Statement[] {
  const won = anchorExists("audit_events", audit.id);
  return [
    db
      .update(users)
      .set({ passwordHash: newHash })
      .where(
        and(
          eq(users.id, user.id),
          eq(users.passwordHash, user.passwordHash),
          isNull(users.deactivatedAt),
          options.condition,
        ),
      ),
    insertAuditWhen(db, audit, claimSucceeded),
    revokeUserSessions(db, user.id, options.keepSessionId, won),
    db.delete(passwordResets).where(and(eq(passwordResets.userId, user.id), won)),
  ];
}
