// Reminder planning: the daily cron finds tenants whose grace deadline is near and queues one plan
// job each; each plan job handles one page of a tenant's users and queues the next page.
import { and, eq, isNull, lt, or } from "drizzle-orm";
import { DAY_MS, graceDeadline } from "../auth/enforcement";
import { listUsers } from "../auth/users";
import { now } from "../clock";
import type { Db } from "../db/client";
import { remindersSent, type Tenant, tenants, users } from "../db/schema";
import { enqueue, MAX_BATCH_MESSAGES, type PlanJob, planJob, reminderEmail } from "./jobs";

/** Days before the deadline at which a reminder goes out; 0 is the deadline's own day. */
export const MILESTONES = [7, 3, 1, 0] as const;
/**
 * Users per planning page: a page's emails and the job for the next page go out in one sendBatch,
 * which succeeds or fails whole, so a page retried after a failure never queues an email twice.
 */
export const PLAN_PAGE_SIZE = MAX_BATCH_MESSAGES - 1;

/**
 * The milestone due `daysLeft` whole days before a deadline: the nearest one not below it, so a
 * skipped cron run still sends the reminder it missed (once). Null outside the last 7 days.
 */
export function milestoneFor(daysLeft: number): number | null {
  if (daysLeft < 0) return null;
  const due = MILESTONES.filter((m) => m >= daysLeft);
  return due.length === 0 ? null : Math.min(...due);
}

/**
 * Whole calendar days (UTC) from `at` to the deadline, as people count them: a deadline tomorrow is
 * 1 day away whatever the hour. Negative once the deadline has passed, even on its own day.
 */
function daysLeft(deadline: number, at: number): number {
  if (at >= deadline) return -1;
  return Math.floor(deadline / DAY_MS) - Math.floor(at / DAY_MS);
}

/** The cron: one plan job per enforcing tenant with a milestone due. */
export async function planMilestoneReminders(env: Env, db: Db): Promise<number> {
  const at = now();
  const enforcing = await db.select().from(tenants).where(eq(tenants.mfaRequired, true));
  const due = enforcing.filter((tenant) => {
    const deadline = graceDeadline(tenant);
    return deadline !== null && milestoneFor(daysLeft(deadline, at)) !== null;
  });
  await enqueue(
    env,
    due.map((tenant) => planJob(tenant.id, "milestone")),
  );
  return due.length;
}

/**
 * One page of a plan job. Milestone mode reminds users still in grace, each at most once per
 * milestone (a claim row in reminders_sent); manual mode reminds everyone without MFA now.
 */
export async function runPlanPage(
  env: Env,
  db: Db,
  job: PlanJob,
  pageSize = PLAN_PAGE_SIZE,
): Promise<number> {
  if (pageSize > PLAN_PAGE_SIZE)
    throw new RangeError(`a planning page holds at most ${PLAN_PAGE_SIZE} users`);
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, job.tenantId));
  if (!tenant) return 0;
  const deadline = graceDeadline(tenant);
  const milestone = deadline === null ? null : milestoneFor(daysLeft(deadline, now()));
  if (job.mode === "milestone" && (deadline === null || milestone === null)) return 0;

  const { users: page, nextCursor } = await listUsers(db, tenant.id, {
    limit: pageSize,
    cursor: job.cursor,
    mfa: "disabled",
    active: true,
    where: job.mode === "milestone" ? inGrace(tenant) : undefined,
  });

  let recipients = page;
  let claims: { userId: string }[] = [];
  if (job.mode === "milestone" && deadline !== null && milestone !== null && page.length > 0) {
    claims = await claimReminders(
      db,
      page.map((user) => user.id),
      deadline,
      milestone,
    );
    const fresh = new Set(claims.map((row) => row.userId));
    recipients = page.filter((user) => fresh.has(user.id));
  }
  const reminder =
    job.mode === "milestone"
      ? { deadline, milestone: milestone ?? 0, runId: `milestone:${deadline}:${milestone}` }
      : { deadline: null, milestone: "manual" as const, runId: job.id };
  const emails = recipients.map((user) => reminderEmail(user, tenant.name, reminder));
  const next: PlanJob[] = nextCursor === null ? [] : [{ ...job, cursor: nextCursor }];
  try {
    // One sendBatch (PLAN_PAGE_SIZE): all of this page or nothing of it.
    await enqueue(env, [...emails, ...next]);
  } catch (error) {
    // Unclaim, so the retry of this job sends what this attempt could not.
    if (deadline !== null && milestone !== null) await unclaimReminders(db, claims, deadline, milestone);
    throw error;
  }
  return emails.length;
}

// D1 binds at most 100 parameters per statement: 4 columns × 25 rows.
const CLAIM_CHUNK = 25;

async function claimReminders(db: Db, userIds: string[], deadline: number, milestone: number) {
  const at = now();
  const inserts = [];
  for (let i = 0; i < userIds.length; i += CLAIM_CHUNK) {
    const rows = userIds
      .slice(i, i + CLAIM_CHUNK)
      .map((userId) => ({ userId, deadline, milestone, sentAt: at }));
    inserts.push(
      db.insert(remindersSent).values(rows).onConflictDoNothing().returning({ userId: remindersSent.userId }),
    );
  }
  const [first, ...rest] = inserts;
  if (!first) return [];
  return (await db.batch([first, ...rest])).flat();
}

async function unclaimReminders(db: Db, claims: { userId: string }[], deadline: number, milestone: number) {
  const deletes = claims.map((claim) =>
    db
      .delete(remindersSent)
      .where(
        and(
          eq(remindersSent.userId, claim.userId),
          eq(remindersSent.deadline, deadline),
          eq(remindersSent.milestone, milestone),
        ),
      ),
  );
  const [first, ...rest] = deletes;
  if (first) await db.batch([first, ...rest]);
}

/** Users who existed before enforcement began and were not reset since: the ones with a grace period. */
function inGrace(tenant: Tenant) {
  const since = tenant.mfaEnforcedSince ?? 0;
  return and(lt(users.createdAt, since), or(isNull(users.mfaResetAt), lt(users.mfaResetAt, since)));
}
