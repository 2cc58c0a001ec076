// Outgoing email cannot be turned into a weapon (resets that mail anyone, unverified addresses
// mailed without end), and the queue consumer decides each message on its own: unreadable ones
// are dropped, permanent refusals are not retried, duplicates are sent once.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { emailDeliveries } from "../../src/db/schema";
import worker from "../../src/index";
import { POLICIES } from "../../src/limiter/policy";
import {
  type EmailJob,
  type PlanJob,
  planJob,
  type QueueJob,
  reminderEmail,
  securityEmail,
} from "../../src/reminders/jobs";
import { runPlanPage } from "../../src/reminders/plan";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, expectError, ORIGIN, sessionToken } from "../helpers/http";
import { recordingEmail, recordingQueue, type SentEmail } from "../helpers/recording";

const person = (tenantId: string, to: string, n = 0) => ({
  id: `user-${n}-${crypto.randomUUID()}`,
  username: `someone${n}`,
  email: to,
  tenantId,
});

/** Runs one batch through the consumer; returns what it acknowledged, retried and sent. */
async function consume(bodies: unknown[], bindings: Partial<Env> = {}, queue = "edge-mfa-email") {
  const email = recordingEmail();
  const batch = createMessageBatch<unknown>(
    queue,
    bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, { ...env, EMAIL: email.binding, ...bindings }, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    acked: result.explicitAcks.sort(),
    retried: result.retryMessages.map((m) => m.msgId),
    sent: email.sent,
  };
}

async function auditActions(tenantId: string, action: string) {
  const rows = await env.DB.prepare("select details from audit_events where tenant_id = ? and action = ?")
    .bind(tenantId, action)
    .all<{ details: string }>();
  return rows.results.map((row) => JSON.parse(row.details));
}

describe("admin MFA resets", () => {
  it("email nobody when there was no MFA to remove", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId);
    const { sent, binding } = recordingQueue();
    const response = await app.fetch(
      new Request(`${ORIGIN}/api/v1/tenants/${tenantId}/users/${user.user.id}/reset-mfa`, {
        method: "POST",
        headers: { authorization: `Bearer ${await sessionToken(admin)}` },
      }),
      { ...env, EMAIL_QUEUE: binding },
    );
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toEqual([]);
  });

  it("are budgeted per user (3 a day) and per tenant (20 an hour)", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const reset = (userId: string) =>
      call("POST", `/api/v1/tenants/${tenantId}/users/${userId}/reset-mfa`, { token });
    const target = await addUser(tenantId);
    for (let i = 0; i < POLICIES.resetsPerUser.limit; i++)
      expect((await reset(target.user.id)).status).toBe(200);
    const refused = await reset(target.user.id);
    expectError(refused, 429, "too_many_attempts");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);

    const others = await Promise.all(
      Array.from({ length: POLICIES.resetsPerTenant.limit }, () => addUser(tenantId)),
    );
    const statuses = [];
    for (const other of others) statuses.push((await reset(other.user.id)).status);
    // Three of the tenant's twenty went to the first target already.
    expect(statuses.filter((s) => s === 200)).toHaveLength(
      POLICIES.resetsPerTenant.limit - POLICIES.resetsPerUser.limit,
    );
    expect(statuses.at(-1)).toBe(429);
  }, 30_000);
});

describe("daily email caps", () => {
  it("send one address at most 20 emails a day, however many accounts name it, and say so once", async () => {
    const { tenantId } = await createTenant();
    const outside = `victim-${crypto.randomUUID()}@elsewhere.example`;
    const jobs = Array.from({ length: 25 }, (_, n) =>
      securityEmail(person(tenantId, outside, n), "Acme", "mfa_reset"),
    );
    const { acked, retried, sent } = await consume(jobs);
    expect(sent).toHaveLength(POLICIES.mailPerRecipient.limit);
    expect(acked).toHaveLength(25);
    expect(retried).toEqual([]);
    expect(await auditActions(tenantId, "email.limit_reached")).toEqual([
      { cap: "recipient", daily_limit: POLICIES.mailPerRecipient.limit },
    ]);
  });

  it("send a tenant at most EMAIL_DAILY_LIMIT emails a day", async () => {
    const { tenantId } = await createTenant();
    const jobs = Array.from({ length: 14 }, (_, n) =>
      securityEmail(person(tenantId, `u${n}-${crypto.randomUUID()}@acme.example`, n), "Acme", "mfa_disabled"),
    );
    const { sent } = await consume(jobs, { EMAIL_DAILY_LIMIT: "10" });
    expect(sent).toHaveLength(10);
    expect(await auditActions(tenantId, "email.limit_reached")).toEqual([{ cap: "tenant", daily_limit: 10 }]);
  });
});

describe("security emails", () => {
  const reminder = (tenantId: string, to: string, n: number) =>
    reminderEmail(person(tenantId, to, n), "Bulk", {
      deadline: null,
      milestone: "manual",
      runId: crypto.randomUUID(),
    });

  it("reach their user whatever another tenant's reminders did to the same address", async () => {
    const victim = `victim-${crypto.randomUUID()}@elsewhere.example`;
    const other = await createTenant();
    const own = await createTenant();
    const flood = await consume(Array.from({ length: 25 }, (_, n) => reminder(other.tenantId, victim, n)));
    expect(flood.sent).toHaveLength(POLICIES.mailPerRecipient.limit);
    const alert = securityEmail(person(own.tenantId, victim), "Own", "mfa_disabled");
    expect((await consume([alert])).sent.map((e) => e.to)).toEqual([victim]);
  });

  it("are not used up by the tenant's own reminders", async () => {
    const { tenantId } = await createTenant();
    const reminders = Array.from({ length: 12 }, (_, n) =>
      reminder(tenantId, `r${n}-${crypto.randomUUID()}@acme.example`, n),
    );
    expect((await consume(reminders, { EMAIL_DAILY_LIMIT: "10" })).sent).toHaveLength(10);
    const alert = securityEmail(
      person(tenantId, `s-${crypto.randomUUID()}@acme.example`),
      "Acme",
      "mfa_reset",
    );
    expect((await consume([alert], { EMAIL_DAILY_LIMIT: "10" })).sent).toHaveLength(1);
  });
});

describe("the recipient cap", () => {
  it("counts the +tags of one mailbox as that mailbox", async () => {
    const { tenantId } = await createTenant();
    const base = `tagged-${crypto.randomUUID().slice(0, 8)}`;
    const jobs = Array.from({ length: 25 }, (_, n) =>
      reminderEmail(person(tenantId, `${base}+${n}@elsewhere.example`, n), "Acme", {
        deadline: null,
        milestone: "manual",
        runId: "tags",
      }),
    );
    expect((await consume(jobs)).sent).toHaveLength(POLICIES.mailPerRecipient.limit);
  });

  it("counts an email once, however many times a failure that may pass retries it", async () => {
    const { tenantId } = await createTenant();
    const to = `retried-${crypto.randomUUID()}@acme.example`;
    const flaky = securityEmail(person(tenantId, to), "Acme", "mfa_enabled");
    let failures = 3;
    const outage = {
      send: async (message: SentEmail) => {
        if (failures-- > 0) throw new Error("Service temporarily unavailable");
        return env.EMAIL.send(message as never);
      },
    } as unknown as SendEmail;
    for (let attempt = 0; attempt < 4; attempt++) await consume([flaky], { EMAIL: outage });
    const rest = Array.from({ length: POLICIES.mailPerRecipient.limit }, (_, n) =>
      securityEmail(person(tenantId, to, n + 1), "Acme", "mfa_enabled"),
    );
    // 1 sent after its retries + 19 of these: the 20th of these is the first over the cap.
    expect((await consume(rest)).sent).toHaveLength(POLICIES.mailPerRecipient.limit - 1);
  });
});

describe("the queue consumer", () => {
  it("retries an email another consumer is sending, after that consumer's lease, instead of dropping it", async () => {
    const { tenantId } = await createTenant();
    const job = securityEmail(
      person(tenantId, `inflight-${crypto.randomUUID()}@acme.example`),
      "Acme",
      "mfa_reset",
    );
    await db.insert(emailDeliveries).values({ id: job.id, tenantId, claimedAt: Date.now() });
    const { acked, retried, sent } = await consume([job]);
    expect([acked, sent]).toEqual([[], []]);
    expect(retried).toEqual(["m0"]);
  });

  const good = (tenantId: string) =>
    securityEmail(person(tenantId, `ok-${crypto.randomUUID()}@acme.example`), "Acme", "mfa_enabled");

  it("acknowledges what it cannot read (unknown kind, null, no tenant) and sends the rest of the batch", async () => {
    const { tenantId } = await createTenant();
    const fine = good(tenantId);
    const { acked, retried, sent } = await consume([
      { kind: "postcard", tenantId },
      null,
      { ...fine, tenantId: undefined },
      fine,
    ]);
    expect(acked).toEqual(["m0", "m1", "m2", "m3"]);
    expect(retried).toEqual([]);
    expect(sent.map((e) => e.to)).toEqual([fine.to]);
  });

  it("records dead letters one by one: an unreadable one does not stop the others", async () => {
    const { tenantId } = await createTenant();
    const fine = good(tenantId);
    const { acked } = await consume([null, { ...fine, tenantId: undefined }, fine], {}, "edge-mfa-email-dlq");
    expect(acked).toEqual(["m0", "m1", "m2"]);
    expect(await auditActions(tenantId, "email.failed")).toEqual([{ job: "security", event: "mfa_enabled" }]);
  });

  it("does not retry a permanent refusal, and records it; retries a temporary failure", async () => {
    const { tenantId } = await createTenant();
    const refused = good(tenantId);
    const flaky = good(tenantId);
    const binding = {
      send: async (message: { to: string }) => {
        if (message.to === refused.to) throw new Error(`email to ${refused.to} not allowed`);
        throw new Error("Service temporarily unavailable");
      },
    } as unknown as SendEmail;
    const { acked, retried } = await consume([refused, flaky], { EMAIL: binding });
    expect(acked).toEqual(["m0"]);
    expect(retried).toEqual(["m1"]);
    expect(await auditActions(tenantId, "email.failed")).toEqual([
      { job: "security", event: "mfa_enabled", reason: "refused" },
    ]);
    // The temporary failure gave its claim back: the retry sends it.
    expect((await consume([flaky])).sent.map((e) => e.to)).toEqual([flaky.to]);
  });

  it("sends an email queued twice once", async () => {
    const { tenantId } = await createTenant();
    const job = good(tenantId);
    expect((await consume([job, job])).sent).toHaveLength(1);
    expect((await consume([job])).sent).toHaveLength(0);
  });

  it("never queues a planning page twice: a page and its next job go in one sendBatch", async () => {
    const { tenantId } = await createTenant();
    // Users written directly: 150 password hashes would only slow the test down.
    const insert = env.DB.prepare(
      `insert into users (id, tenant_id, username, username_key, email, role, password_hash, created_at)
       values (?1, ?2, ?3, ?3, ?4, 'member', 'x', 0)`,
    );
    await env.DB.batch(
      Array.from({ length: 150 }, (_, i) =>
        insert.bind(
          `${tenantId}-${i}`,
          tenantId,
          `user${String(i).padStart(3, "0")}`,
          `user${i}@acme.example`,
        ),
      ),
    );
    const calls: QueueJob[][] = [];
    let failNext = true;
    const queue = {
      sendBatch: async (messages: Iterable<MessageSendRequest<QueueJob>>) => {
        const bodies = [...messages].map((m) => m.body);
        if (bodies.length > 100) throw new Error("sendBatch takes at most 100 messages");
        calls.push(bodies);
        // The second batch of the first attempt fails, as a queue that stops answering would.
        if (calls.length === 2 && failNext) {
          failNext = false;
          calls.pop();
          throw new Error("queue unavailable");
        }
      },
    } as unknown as Queue;
    const testEnv = { ...env, EMAIL_QUEUE: queue };
    const first = planJob(tenantId, "manual");
    const pending: PlanJob[] = [first];
    while (pending.length > 0) {
      const job = pending.shift() as PlanJob;
      try {
        await runPlanPage(testEnv, db, job);
      } catch {
        pending.unshift(job); // the queue's retry of the same message
        continue;
      }
      const next = calls.at(-1)?.find((j): j is PlanJob => j.kind === "plan");
      if (next && next.cursor !== job.cursor) pending.push(next);
    }
    const emails = calls.flat().filter((j): j is EmailJob => j.kind === "reminder");
    const admins = 1;
    expect(emails).toHaveLength(150 + admins);
    expect(new Set(emails.map((e) => e.userId)).size).toBe(150 + admins);
  });
});
