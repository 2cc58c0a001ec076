// The queue consumer: sends emails through the send_email binding and runs plan pages, retrying with
// backoff; after the queue's max_retries a message goes to the dead-letter queue, handled below.
import { insertAudit } from "../auth/audit";
import { openDb } from "../db/client";
import { loadConfig } from "../env";
import { buildEmail } from "./emails";
import type { EmailJob, QueueJob } from "./jobs";
import { runPlanPage } from "./plan";

export const DEAD_LETTER_QUEUE = "edge-mfa-email-dlq";

/** 30 s, 60 s, 120 s… up to an hour between attempts. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

export async function handleQueueBatch(batch: MessageBatch<QueueJob>, env: Env): Promise<void> {
  if (batch.queue === DEAD_LETTER_QUEUE) return recordDeadLetters(batch, env);
  const config = loadConfig(env);
  const db = openDb(env.DB);
  for (const message of batch.messages) {
    const job = message.body;
    try {
      if (job.kind === "plan") await runPlanPage(env, db, job);
      else await sendEmail(env, config.emailFrom, job, buildEmail(job, config));
      message.ack();
    } catch (error) {
      console.error(`queue job ${job.kind} failed (attempt ${message.attempts})`, error);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

async function sendEmail(env: Env, from: string, job: EmailJob, content: ReturnType<typeof buildEmail>) {
  await env.EMAIL.send({
    from,
    to: job.to,
    subject: content.subject,
    text: content.text,
    html: content.html,
  });
}

/** Messages that ran out of retries leave a trace in the tenant's audit trail, then are dropped. */
async function recordDeadLetters(batch: MessageBatch<QueueJob>, env: Env): Promise<void> {
  const db = openDb(env.DB);
  for (const message of batch.messages) {
    const job = message.body;
    console.error(`queue job ${job.kind} for tenant ${job.tenantId} gave up after its retries`);
    await insertAudit(db, {
      tenantId: job.tenantId,
      action: "email.failed",
      actorId: null,
      targetId: job.kind === "plan" ? null : job.userId,
      ip: null,
      details:
        job.kind === "plan"
          ? { job: "plan", mode: job.mode }
          : { job: job.kind, ...("event" in job ? { event: job.event } : { milestone: job.milestone }) },
    });
    message.ack();
  }
}
