// An admin's MFA reset: the user's secret and backup codes go, their sessions end, they are told.
// The admin never sees or chooses the user's new secret: the user enrolls again themselves.
import { and, eq } from "drizzle-orm";
import { insertAudit } from "../auth/audit";
import { revokeUserSessions } from "../auth/sessions";
import { now } from "../clock";
import type { Db } from "../db/client";
import { backupCodes, type Tenant, type User, users } from "../db/schema";
import { ApiError } from "../errors";
import { resetAccountCounters } from "../limiter/limits";
import { type EmailJob, recipientOf } from "../reminders/jobs";

export interface ResetContext {
  env: Env;
  db: Db;
  ip: string;
  admin: User;
  tenant: Tenant;
  notify: (job: EmailJob) => void;
}

export async function resetUserMfa(ctx: ResetContext, userId: string): Promise<User> {
  const { db, tenant } = ctx;
  const [target] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.tenantId, tenant.id)));
  if (!target) throw new ApiError("not_found");
  // Turning one's own MFA off goes through /mfa/disable, which asks for a current code and honours
  // enforcement; a reset of oneself would skip both with only a session in hand.
  if (target.id === ctx.admin.id) {
    throw new ApiError("forbidden", {
      message: "Admins cannot reset their own MFA; turn it off or move to a new device from your profile",
    });
  }
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
    revokeUserSessions(db, target.id),
    insertAudit(db, {
      tenantId: tenant.id,
      action: "mfa.reset",
      actorId: ctx.admin.id,
      targetId: target.id,
      ip: ctx.ip,
      details: { had_mfa: hadMfa },
    }),
  ]);
  // A fresh start for the attempt counters too: a locked-out user can enroll again at once.
  await resetAccountCounters(ctx.env, tenant.id, target.usernameKey);
  ctx.notify({ kind: "security", event: "mfa_reset", at, ...recipientOf(target, tenant.name) });
  return { ...target, ...reset };
}
