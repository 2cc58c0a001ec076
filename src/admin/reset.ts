// An MFA reset: the user's secret, passkeys and backup codes go, their sessions and attempt counters start
// over, the audit trail and the user are told. The one reset of the service, whoever asks for it:
// a tenant admin (API and UI) or the operator's break-glass CLI (src/admin/operator-grants.ts).
// Nobody who resets ever sees or chooses the user's new secret: the user enrolls again themselves.
import { eq } from "drizzle-orm";
import { insertAudit } from "../auth/audit";
import { revokeUserSessions } from "../auth/sessions";
import { now } from "../clock";
import type { RequestContext } from "../context";
import { backupCodes, passkeys, type Tenant, type User, users } from "../db/schema";
import { ApiError } from "../errors";
import { enforceResetBudget, resetSecondFactorBudget } from "../limiter/limits";
import { securityEmail } from "../reminders/jobs";

/** Who asks: an admin of the tenant, or the operator (who has no account in it). */
export type ResetActor = { kind: "admin"; user: User } | { kind: "operator" };

export interface ResetContext extends RequestContext {
  tenant: Tenant;
  actor: ResetActor;
}

/** Resets `target`, a user of ctx.tenant (findTenantUser, findUserByName). */
export async function resetUserMfa(ctx: ResetContext, target: User): Promise<User> {
  const { db, tenant, actor } = ctx;
  if (target.tenantId !== tenant.id) throw new ApiError("not_found");
  // Turning one's own MFA off goes through /mfa/disable, which asks for a current code and honours
  // enforcement; a reset of oneself would skip both with only a session in hand.
  if (actor.kind === "admin" && target.id === actor.user.id) {
    throw new ApiError("forbidden", {
      message: "Admins cannot reset their own MFA; turn it off or move to a new device from your profile",
    });
  }
  // An admin's resets are budgeted; the operator's break-glass reset is the way out when they are spent.
  if (actor.kind === "admin") await enforceResetBudget(ctx.env, tenant.id, target.id);
  const at = now();
  // Only a reset of real MFA counts as one: resetting a user who never enrolled must not take their
  // grace period away.
  const hadMfa = target.mfaEnabledAt !== null || target.totpPendingSecret !== null;
  const reset = {
    mfaEnabledAt: null,
    totpSecret: null,
    totpPendingSecret: null,
    mfaResetAt: hadMfa ? at : target.mfaResetAt,
  };
  await db.batch([
    db.update(users).set(reset).where(eq(users.id, target.id)),
    db.delete(backupCodes).where(eq(backupCodes.userId, target.id)),
    db.delete(passkeys).where(eq(passkeys.userId, target.id)),
    revokeUserSessions(db, target.id),
    insertAudit(db, {
      tenantId: tenant.id,
      action: "mfa.reset",
      actorId: actor.kind === "admin" ? actor.user.id : null,
      targetId: target.id,
      ip: ctx.ip,
      details: { had_mfa: hadMfa, ...(actor.kind === "operator" ? { by: "operator" } : {}) },
    }),
  ]);
  // A fresh start for the second-factor budget too: a locked-out user can enroll again at once.
  await resetSecondFactorBudget(ctx.env, tenant.id, target.usernameKey);
  // Told only when there was something to remove: a reset must not be a way to mail anyone at will.
  if (hadMfa) ctx.notify(securityEmail(target, tenant.name, "mfa_reset"));
  return { ...target, ...reset };
}
