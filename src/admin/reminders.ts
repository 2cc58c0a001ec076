// "Send reminder emails" in one click: to chosen users, or to everyone without MFA (planned a page
// at a time through the queue). Limited per tenant, so it cannot be used to spam.
import { and, eq, inArray, isNull } from "drizzle-orm";
import { insertAudit } from "../auth/audit";
import { graceDeadline } from "../auth/enforcement";
import type { Db } from "../db/client";
import { type Tenant, users } from "../db/schema";
import { randomId } from "../encoding";
import { enforceReminderBudget } from "../limiter/limits";
import { enqueue, planJob, reminderEmail } from "../reminders/jobs";

export async function sendReminders(
  env: Env,
  db: Db,
  tenant: Tenant,
  actor: { id: string; ip: string },
  userIds?: string[],
): Promise<number> {
  await enforceReminderBudget(env, tenant.id);
  let queued: number;
  if (userIds) {
    const chosen = await db
      .select()
      .from(users)
      .where(
        and(
          eq(users.tenantId, tenant.id),
          isNull(users.mfaEnabledAt),
          isNull(users.deactivatedAt), // a deactivated user is not asked to enroll
          inArray(users.id, userIds),
        ),
      );
    const reminder = { deadline: graceDeadline(tenant), milestone: "manual" as const, runId: randomId() };
    await enqueue(
      env,
      chosen.map((user) => reminderEmail(user, tenant.name, reminder)),
    );
    queued = chosen.length;
  } else {
    await enqueue(env, [planJob(tenant.id, "manual")]);
    queued = tenant.userCount - tenant.enrolledCount;
  }
  await insertAudit(db, {
    tenantId: tenant.id,
    action: "reminders.sent",
    actorId: actor.id,
    targetId: null,
    ip: actor.ip,
    details: { queued, chosen: userIds !== undefined },
  });
  return queued;
}
