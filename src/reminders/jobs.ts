// What travels on the email queue: emails to send, and pages of reminder planning still to do.

export type SecurityEvent =
  | "mfa_enabled"
  | "mfa_disabled"
  | "mfa_reset"
  | "device_changed"
  | "backup_code_used";

interface Recipient {
  tenantId: string;
  tenantName: string;
  userId: string;
  username: string;
  to: string;
}

export type EmailJob =
  | (Recipient & { kind: "reminder"; deadline: number | null; milestone: number | "manual" })
  | (Recipient & { kind: "security"; event: SecurityEvent; at: number; remaining?: number });

/** Planning continues through the queue a page at a time, so no invocation walks a whole tenant. */
export interface PlanJob {
  kind: "plan";
  tenantId: string;
  mode: "milestone" | "manual";
  /** The last username key handled; null for the first page. */
  cursor: string | null;
}

export type QueueJob = EmailJob | PlanJob;

/** A queue send never fails the request that caused it: it is logged, and the change stands. */
export async function enqueue(env: Env, jobs: QueueJob[]): Promise<void> {
  // sendBatch takes at most 100 messages.
  for (let i = 0; i < jobs.length; i += 100) {
    await env.EMAIL_QUEUE.sendBatch(jobs.slice(i, i + 100).map((body) => ({ body })));
  }
}

export function recipientOf(
  user: { id: string; username: string; email: string; tenantId: string },
  tenantName: string,
) {
  return { tenantId: user.tenantId, tenantName, userId: user.id, username: user.username, to: user.email };
}
