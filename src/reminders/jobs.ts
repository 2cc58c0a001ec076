// What travels on the email queue: emails to send, and pages of reminder planning still to do.
// Every body is checked against these schemas when it is taken off the queue: a message this code
// cannot read (an unknown kind, a null body) is acknowledged and logged, never retried.
import * as z from "zod";
import { now } from "../clock";
import { randomId } from "../encoding";

const SECURITY_EVENTS = [
  "mfa_enabled",
  "mfa_disabled",
  "mfa_reset",
  "device_changed",
  "passkey_added",
  "passkey_removed",
  "backup_code_used",
  "password_changed",
  "password_reset",
] as const;

export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

const Recipient = {
  /**
   * The email's idempotency key: the consumer sends each id at most once, so a message queued twice
   * (a planning page retried, a redelivery) is one email.
   */
  id: z.string().min(1).max(200),
  tenantId: z.string().min(1),
  tenantName: z.string(),
  userId: z.string().min(1),
  username: z.string(),
  to: z.email().max(254),
};

const ReminderJob = z.object({
  ...Recipient,
  kind: z.literal("reminder"),
  deadline: z.number().nullable(),
  milestone: z.union([z.number().int(), z.literal("manual")]),
});

const SecurityJob = z.object({
  ...Recipient,
  kind: z.literal("security"),
  event: z.enum(SECURITY_EVENTS),
  at: z.number(),
  remaining: z.number().int().optional(),
});

/**
 * A password reset link. The token travels in the message because the email must carry it; only
 * its hash is stored (src/auth/password-reset.ts), and nothing logs a message body.
 */
const PasswordResetJob = z.object({
  ...Recipient,
  kind: z.literal("password_reset"),
  token: z.string().min(1).max(200),
  expiresAt: z.number(),
  /** Who asked: the user (forgot password) or an admin of the tenant. */
  by: z.enum(["self", "admin"]),
});

/** Planning continues through the queue a page at a time, so no invocation walks a whole tenant. */
const PlanJobSchema = z.object({
  kind: z.literal("plan"),
  /** Names this run of planning; the emails it queues take their ids from it. */
  id: z.string().min(1).max(100),
  tenantId: z.string().min(1),
  mode: z.enum(["milestone", "manual"]),
  /** The last username key handled; null for the first page. */
  cursor: z.string().nullable(),
});

export const QueueJobSchema = z.discriminatedUnion("kind", [
  ReminderJob,
  SecurityJob,
  PasswordResetJob,
  PlanJobSchema,
]);

export type EmailJob =
  | z.infer<typeof ReminderJob>
  | z.infer<typeof SecurityJob>
  | z.infer<typeof PasswordResetJob>;
export type PlanJob = z.infer<typeof PlanJobSchema>;
export type QueueJob = EmailJob | PlanJob;

interface Person {
  id: string;
  username: string;
  email: string;
  tenantId: string;
}

function recipientOf(user: Person, tenantName: string) {
  return { tenantId: user.tenantId, tenantName, userId: user.id, username: user.username, to: user.email };
}

/** A security email about a change to the user's account, happening now. */
export function securityEmail(
  user: Person,
  tenantName: string,
  event: SecurityEvent,
  remaining?: number,
): EmailJob {
  return {
    kind: "security",
    id: `security:${randomId()}`,
    event,
    at: now(),
    ...(remaining === undefined ? {} : { remaining }),
    ...recipientOf(user, tenantName),
  };
}

/** The email with a password reset link (valid until `expiresAt`). */
export function passwordResetEmail(
  user: Person,
  tenantName: string,
  link: { token: string; expiresAt: number; by: "self" | "admin" },
): EmailJob {
  return {
    kind: "password_reset",
    id: `password_reset:${randomId()}`,
    ...link,
    ...recipientOf(user, tenantName),
  };
}

/** A reminder to enroll, named by what it reminds of, so that planning it twice sends it once. */
export function reminderEmail(
  user: Person,
  tenantName: string,
  reminder: { deadline: number | null; milestone: number | "manual"; runId: string },
): EmailJob {
  return {
    kind: "reminder",
    id: `reminder:${reminder.runId}:${user.id}`,
    deadline: reminder.deadline,
    milestone: reminder.milestone,
    ...recipientOf(user, tenantName),
  };
}

/** A first page of reminder planning for a tenant. */
export function planJob(tenantId: string, mode: PlanJob["mode"], id = `plan:${randomId()}`): PlanJob {
  return { kind: "plan", id, tenantId, mode, cursor: null };
}

// sendBatch takes at most 100 messages; a planning page fits in one (src/reminders/plan.ts).
export const MAX_BATCH_MESSAGES = 100;

/** Queues jobs, at most 100 per sendBatch. */
export async function enqueue(env: Env, jobs: QueueJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += MAX_BATCH_MESSAGES) {
    await env.EMAIL_QUEUE.sendBatch(jobs.slice(i, i + MAX_BATCH_MESSAGES).map((body) => ({ body })));
  }
}
