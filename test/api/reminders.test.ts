// The reminder path: cron → plan jobs → reminder emails → the send_email binding, once per milestone.
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../src/clock";
import worker from "../../src/index";
import { retryDelaySeconds } from "../../src/reminders/consumer";
import type { EmailJob, PlanJob, QueueJob } from "../../src/reminders/jobs";
import { milestoneFor, runPlanPage } from "../../src/reminders/plan";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, sessionToken } from "../helpers/http";
import { recordingEmail, recordingQueue } from "../helpers/recording";
import { enrollMfa } from "../helpers/totp";

const DAY = 24 * 60 * 60 * 1000;

/** A tenant enforcing MFA with `graceDays`, three users in grace and one enrolled. */
async function enforcingTenant(graceDays: number) {
  const { tenantId, admin } = await createTenant();
  const inGrace = [admin, await addUser(tenantId), await addUser(tenantId)];
  await enrollMfa(await addUser(tenantId));
  const token = await sessionToken(admin);
  await call("PATCH", `/api/v1/tenants/${tenantId}/settings`, {
    token,
    body: { mfa_required: true, mfa_grace_period_days: graceDays },
  });
  return { tenantId, inGrace };
}

/** Runs the cron, then every plan job it queued (and the ones those queued), as the consumer would. */
async function runCron() {
  const queue = recordingQueue();
  const testEnv = { ...env, EMAIL_QUEUE: queue.binding };
  await worker.scheduled(createScheduledController({ cron: "0 8 * * *" }), testEnv, createExecutionContext());
  for (let i = 0; i < queue.sent.length; i++) {
    const job = queue.sent[i] as QueueJob;
    if (job.kind === "plan") await runPlanPage(testEnv, db, job, 2);
  }
  return queue.sent;
}

function remindersFor(jobs: QueueJob[], tenantId: string) {
  return jobs.filter(
    (j): j is Extract<EmailJob, { kind: "reminder" }> => j.kind === "reminder" && j.tenantId === tenantId,
  );
}

describe("milestones", () => {
  it("sends at 7, 3, 1 days before the deadline and on its day, catching up a missed one", () => {
    expect([10, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1].map(milestoneFor)).toEqual([
      null,
      null,
      7,
      7,
      7,
      7,
      3,
      3,
      1,
      0,
      null,
    ]);
  });
});

describe("the daily cron", () => {
  it("queues exactly one reminder per user in grace at each milestone, and none twice", async () => {
    const { tenantId, inGrace } = await enforcingTenant(10);
    const expected = inGrace.map((u) => u.user.id).sort();

    expect(remindersFor(await runCron(), tenantId)).toEqual([]); // 10 days left: nothing yet
    advanceClock(3 * DAY); // 7 days left
    const seven = remindersFor(await runCron(), tenantId);
    expect(seven.map((r) => r.userId).sort()).toEqual(expected);
    expect(seven.every((r) => r.milestone === 7 && r.deadline !== null)).toBe(true);
    expect(remindersFor(await runCron(), tenantId)).toEqual([]); // the cron ran twice: nothing new
    advanceClock(DAY); // 6 days left: 7 already sent
    expect(remindersFor(await runCron(), tenantId)).toEqual([]);
    advanceClock(3 * DAY); // 3 days left
    expect(remindersFor(await runCron(), tenantId).map((r) => r.milestone)).toEqual([3, 3, 3]);
    advanceClock(2 * DAY); // 1 day left
    expect(remindersFor(await runCron(), tenantId)).toHaveLength(3);
    advanceClock(DAY - 60_000); // the deadline's own day
    expect(remindersFor(await runCron(), tenantId).map((r) => r.milestone)).toEqual([0, 0, 0]);
    advanceClock(DAY); // past the deadline: blocked users get no more reminders
    expect(remindersFor(await runCron(), tenantId)).toEqual([]);
  });

  it("skips users who enrolled, users without grace, and tenants that do not enforce", async () => {
    const { tenantId, inGrace } = await enforcingTenant(7);
    await enrollMfa(inGrace[1] as (typeof inGrace)[number]);
    advanceClock(1000);
    await addUser(tenantId); // created after enforcement began: no grace, no reminder
    const quiet = await createTenant();
    await addUser(quiet.tenantId);
    const jobs = await runCron();
    expect(
      remindersFor(jobs, tenantId)
        .map((r) => r.userId)
        .sort(),
    ).toEqual([inGrace[0]?.user.id, inGrace[2]?.user.id].sort());
    expect(jobs.some((j) => j.tenantId === quiet.tenantId)).toBe(false);
  });

  it("works through a tenant a page at a time", async () => {
    const { tenantId } = await enforcingTenant(7);
    const jobs = await runCron();
    const plans = jobs.filter((j): j is PlanJob => j.kind === "plan" && j.tenantId === tenantId);
    // Three users in grace with pages of two: a first page, then one continuation.
    expect(plans.map((p) => p.cursor === null)).toEqual([true, false]);
    expect(remindersFor(jobs, tenantId)).toHaveLength(3);
  });
});

describe("the queue consumer", () => {
  const reminder: EmailJob = {
    kind: "reminder",
    id: "reminder:test:u1",
    tenantId: "acme",
    tenantName: "Acme",
    userId: "u1",
    username: "alice",
    to: "alice@example.com",
    deadline: Date.UTC(2026, 11, 24, 9),
    milestone: 3,
  };

  it("sends a text and HTML email with the enrollment link through send_email", async () => {
    const email = recordingEmail();
    const batch = createMessageBatch<QueueJob>("edge-mfa-email", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: reminder },
      {
        id: "m2",
        timestamp: new Date(),
        attempts: 1,
        body: {
          ...reminder,
          id: "security:test:m2",
          kind: "security",
          event: "backup_code_used",
          at: Date.now(),
          remaining: 4,
        },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, EMAIL: email.binding }, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(result.retryMessages).toEqual([]);
    const [first, second] = email.sent;
    expect(first).toMatchObject({
      from: env.EMAIL_FROM,
      to: "alice@example.com",
      subject: "Set up two-factor authentication for Acme by 2026-12-24",
    });
    const link = `${env.PUBLIC_ORIGIN}/?tenant=acme`;
    expect(first?.text).toContain(link);
    expect(first?.html).toContain(`<a href="${link}">`);
    expect(second?.subject).toContain("backup code was used");
    expect(second?.text).toContain("You have 4 backup codes left");
  });

  it("retries a failed send with a growing delay", async () => {
    const email = recordingEmail(2);
    const batch = createMessageBatch<QueueJob>("edge-mfa-email", [
      { id: "a", timestamp: new Date(), attempts: 1, body: { ...reminder, id: "reminder:retry:u1" } },
      {
        id: "b",
        timestamp: new Date(),
        attempts: 3,
        body: { ...reminder, id: "reminder:test:u2", userId: "u2" },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, EMAIL: email.binding }, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["a", "b"]);
    expect(result.explicitAcks).toEqual([]);
    expect(email.sent).toEqual([]);
  });

  it("backs off 30 s, 60 s, 120 s … up to an hour", () => {
    expect([1, 2, 3, 4, 8, 20].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 3600, 3600]);
  });

  it("records what ran out of retries in the tenant's audit trail", async () => {
    const { tenantId, admin } = await createTenant();
    const batch = createMessageBatch<QueueJob>("edge-mfa-email-dlq", [
      {
        id: "d1",
        timestamp: new Date(),
        attempts: 1,
        body: { ...reminder, tenantId, userId: admin.user.id },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["d1"]);
    const events = await call("GET", `/api/v1/tenants/${tenantId}/audit-events`, {
      token: await sessionToken(admin),
    });
    expect(events.json.events[0]).toMatchObject({
      action: "email.failed",
      target_id: admin.user.id,
      details: { job: "reminder", milestone: 3 },
    });
  });
});
