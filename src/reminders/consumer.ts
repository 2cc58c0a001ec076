// The queue consumer: runs planning pages and sends emails through the send_email binding. Each
// message is decided on its own (acknowledged, or retried with backoff), so one bad message never
// holds up or fails the rest of its batch. After the queue's max_retries a message goes to the
// dead-letter queue, whose messages leave a trace in the tenant's audit trail.
import { and, eq, isNull, lt, lte } from "drizzle-orm";
import { insertAudit } from "../auth/audit";
import { now } from "../clock";
import type { Db } from "../db/client";
import { openDb } from "../db/client";
import { deleteInChunks } from "../db/purge";
import { emailDeliveries } from "../db/schema";
import { type Config, loadConfig } from "../env";
import { takeMailBudget } from "../limiter/limits";
import { POLICIES } from "../limiter/policy";
import { buildEmail } from "./emails";
import { type EmailJob, type QueueJob, QueueJobSchema } from "./jobs";
import { runPlanPage } from "./plan";

export const DEAD_LETTER_QUEUE = "edge-mfa-email-dlq";

/** 30 s, 60 s, 120 s… up to an hour between attempts. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

/** A consumer that took an email on and then vanished gives it up after this long. */
const CLAIM_LEASE_MS = 5 * 60 * 1000;
/** Deliveries are remembered this long, well past any retry or duplicate of a message. */
const DELIVERY_MEMORY_MS = 30 * 24 * 60 * 60 * 1000;

interface ConsumerContext {
  env: Env;
  db: Db;
  config: Config;
}

export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = loadConfig(env);
  const db = openDb(env.DB, config.auditSigningKey);
  if (batch.queue === DEAD_LETTER_QUEUE) {
    for (const message of batch.messages) await recordDeadLetter(db, message);
  } else {
    const ctx = { env, db, config };
    for (const message of batch.messages) await handleMessage(ctx, message);
  }
}

async function handleMessage(ctx: ConsumerContext, message: Message<unknown>): Promise<void> {
  const job = readJob(message);
  if (!job) return message.ack();
  try {
    if (job.kind === "plan") {
      await runPlanPage(ctx.env, ctx.db, job);
      return message.ack();
    }
    const delivery = await deliver(ctx, job);
    if (delivery.retryInSeconds === undefined) return message.ack();
    message.retry({ delaySeconds: delivery.retryInSeconds });
  } catch (error) {
    if (error instanceof SendRefused) {
      // Retrying cannot help (an address the service will not send to): say so once, in the trail.
      console.error(`email ${error.jobId} refused for good`, error.cause);
      await bestEffort(() => settleDelivery(ctx.db, error.jobId, "failed"));
      await bestEffort(() => auditFailedEmail(ctx.db, job as EmailJob, { reason: "refused" }));
      return message.ack();
    }
    console.error(`queue job ${job.kind} failed (attempt ${message.attempts})`, error);
    if (job.kind !== "plan") await bestEffort(() => releaseDelivery(ctx.db, job.id));
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
}

/** A write that tidies up after a failure: its own failure is logged and must not stop the batch. */
async function bestEffort(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    console.error("queue consumer could not record an outcome", error);
  }
}

/** The message's job, or null (logged) for a body this code cannot read: never worth a retry. */
function readJob(message: Message<unknown>): QueueJob | null {
  const parsed = QueueJobSchema.safeParse(message.body);
  if (parsed.success) return parsed.data;
  console.error(`queue message ${message.id} dropped: not a job this consumer knows`, parsed.error.issues);
  return null;
}

/** A send the binding refused in words that a retry cannot change. */
class SendRefused extends Error {
  constructor(
    readonly jobId: string,
    refusal: unknown,
  ) {
    super(`email ${jobId} refused`, { cause: refusal });
  }
}

/**
 * Sends an email once. Its delivery row is claimed first: one already sent (or dropped) stops
 * here, and one another consumer is sending waits for that consumer's lease. Then the daily caps
 * decide, once per email whatever its retries, and the binding sends.
 */
async function deliver(ctx: ConsumerContext, job: EmailJob): Promise<{ retryInSeconds?: number }> {
  const claim = await claimDelivery(ctx.db, job);
  if (claim.state === "done") return {};
  if (claim.state === "in_flight") return { retryInSeconds: claim.retryInSeconds };
  if (!claim.budgeted) {
    const budget = await takeMailBudget(ctx.env, job, ctx.config.emailDailyLimit);
    if (budget.reached) await auditCapReached(ctx, job, budget.reached);
    if (!budget.allowed) {
      console.warn(`email ${job.id} not sent: a daily email cap is reached`);
      await settleDelivery(ctx.db, job.id, "suppressed");
      return {};
    }
    await ctx.db.update(emailDeliveries).set({ budgeted: true }).where(eq(emailDeliveries.id, job.id));
  }
  const content = buildEmail(job, ctx.config);
  try {
    await ctx.env.EMAIL.send({
      from: ctx.config.emailFrom,
      to: job.to,
      subject: content.subject,
      text: content.text,
      html: content.html,
    });
  } catch (error) {
    if (isPermanentSendError(error)) throw new SendRefused(job.id, error);
    throw error;
  }
  await settleDelivery(ctx.db, job.id, "sent");
  return {};
}

type Claim =
  | { state: "mine"; budgeted: boolean }
  | { state: "done" }
  | { state: "in_flight"; retryInSeconds: number };

/**
 * Takes the email on: new, given back after a failure, or left by a consumer whose lease ran out.
 * Otherwise it is done (sent, refused, dropped) or being sent elsewhere right now.
 */
async function claimDelivery(db: Db, job: EmailJob): Promise<Claim> {
  const at = now();
  const [claimed, [row]] = await db.batch([
    db
      .insert(emailDeliveries)
      .values({ id: job.id, tenantId: job.tenantId, claimedAt: at })
      .onConflictDoUpdate({
        target: emailDeliveries.id,
        set: { claimedAt: at },
        setWhere: and(isNull(emailDeliveries.outcome), lt(emailDeliveries.claimedAt, at - CLAIM_LEASE_MS)),
      })
      .returning({ budgeted: emailDeliveries.budgeted }),
    db.select().from(emailDeliveries).where(eq(emailDeliveries.id, job.id)),
  ]);
  const [mine] = claimed;
  if (mine) return { state: "mine", budgeted: mine.budgeted };
  if (!row || row.outcome !== null) return { state: "done" };
  return { state: "in_flight", retryInSeconds: Math.ceil((row.claimedAt + CLAIM_LEASE_MS - at) / 1000) };
}

function settleDelivery(db: Db, id: string, outcome: "sent" | "failed" | "suppressed") {
  return db.update(emailDeliveries).set({ outcome }).where(eq(emailDeliveries.id, id));
}

/** Gives a claim back after a failure that may pass, so that the retry takes it on at once. */
function releaseDelivery(db: Db, id: string) {
  return db
    .update(emailDeliveries)
    .set({ claimedAt: 0 })
    .where(and(eq(emailDeliveries.id, id), isNull(emailDeliveries.outcome)));
}

/**
 * The binding documents no error codes; it refuses an address or a message in words. Those refusals
 * are the same on every attempt. Anything else (a timeout, an outage, throttling) may pass.
 */
export function isPermanentSendError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (/rate.?limit|throttl|timeout|temporar|unavailable|try again|internal/i.test(message)) return false;
  return /not allowed|not verified|unverified|invalid|rejected|malformed|too large|not entitled|forbidden/i.test(
    message,
  );
}

async function auditCapReached(ctx: ConsumerContext, job: EmailJob, cap: "tenant" | "recipient") {
  await insertAudit(ctx.db, {
    tenantId: job.tenantId,
    action: "email.limit_reached",
    actorId: null,
    targetId: cap === "recipient" ? job.userId : null,
    ip: null,
    details:
      cap === "tenant"
        ? { cap: "tenant", daily_limit: ctx.config.emailDailyLimit }
        : { cap: "recipient", daily_limit: POLICIES.mailPerRecipient.limit },
  });
}

function auditFailedEmail(db: Db, job: EmailJob, extra: Record<string, unknown> = {}) {
  return insertAudit(db, {
    tenantId: job.tenantId,
    action: "email.failed",
    actorId: null,
    targetId: job.userId,
    ip: null,
    details: {
      job: job.kind,
      ...(job.kind === "security" ? { event: job.event } : {}),
      ...(job.kind === "reminder" ? { milestone: job.milestone } : {}),
      ...extra,
    },
  });
}

/** A message that ran out of retries leaves a trace in its tenant's audit trail, then is dropped. */
async function recordDeadLetter(db: Db, message: Message<unknown>): Promise<void> {
  const job = readJob(message);
  try {
    if (!job) return;
    console.error(`queue job ${job.kind} ${job.id} for tenant ${job.tenantId} gave up after its retries`);
    if (job.kind === "plan") {
      await insertAudit(db, {
        tenantId: job.tenantId,
        action: "email.failed",
        actorId: null,
        targetId: null,
        ip: null,
        details: { job: "plan", mode: job.mode },
      });
    } else {
      await auditFailedEmail(db, job);
    }
  } catch (error) {
    // The trail cannot be written now: the message is dropped anyway, with its story in the log.
    console.error(`dead letter ${message.id} could not be recorded`, error);
  } finally {
    message.ack();
  }
}

/** Deletes delivery records older than DELIVERY_MEMORY_MS (the daily cron). */
export function purgeOldDeliveries(db: Db): Promise<number> {
  const cutoff = now() - DELIVERY_MEMORY_MS;
  return deleteInChunks(db, emailDeliveries, emailDeliveries.id, lte(emailDeliveries.claimedAt, cutoff));
}
