// The audit trail's tamper evidence: rows edited, deleted, inserted and reordered straight in D1
// are each found at the event where the chain breaks; concurrent writers, the retention purge and
// checkpoints signed with another key (src/audit/chain.ts, src/audit/seal.ts).
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, asc, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { signCheckpoint } from "../../src/audit/chain";
import { ADOPTION_ENDS_AT, CHAIN_RELEASED_AT, checkpointTenant, sealTenant } from "../../src/audit/seal";
import { insertAudit } from "../../src/auth/audit";
import { advanceClock, freezeClock, resetClock } from "../../src/clock";
import { openDb } from "../../src/db/client";
import { auditCheckpoints, auditEvents } from "../../src/db/schema";
import worker from "../../src/index";
import { addUser, config, createTenant, db, trail } from "../helpers/factory";
import { call, expectError, sessionToken } from "../helpers/http";

const DAY = 24 * 60 * 60 * 1000;

function legacyEvent(tenantId: string) {
  return { tenantId, at: 0, actorId: null, action: "mfa.enabled", targetId: null, ip: null, details: null };
}

afterEach(() => resetClock());

/** A tenant whose trail holds `count` sealed events, and what verifying it takes. */
async function sealedTrail(count: number) {
  const { tenantId, admin } = await createTenant();
  for (let i = 0; i < count; i++) {
    await insertAudit(db, {
      tenantId,
      action: "settings.updated",
      actorId: admin.user.id,
      targetId: null,
      ip: "192.0.2.1",
      details: { step: i },
    });
  }
  await sealTenant(trail, tenantId);
  const events = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.tenantId, tenantId))
    .orderBy(asc(auditEvents.seq));
  const verify = async () => {
    const token = await sessionToken(admin); // the clock may have moved past an earlier session
    const response = await call("GET", `/api/v1/tenants/${tenantId}/audit-events/verify`, { token });
    expect(response.status).toBe(200);
    return response.json;
  };
  return { tenantId, admin, events, verify };
}

function eventAt<E extends { seq: number | null }>(events: E[], seq: number): E {
  const event = events.find((e) => e.seq === seq);
  if (!event) throw new Error(`no event at ${seq}`);
  return event;
}

describe("a trail nobody touched", () => {
  it("verifies, every event sealed in order", async () => {
    const { events, verify } = await sealedTrail(5);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await verify()).toEqual({
      ok: true,
      checked: 5,
      pending: 0,
      first_broken: null,
      last_checkpoint: null,
    });
  });
});

describe("tampering straight in D1", () => {
  it("finds an edited event at that event", async () => {
    const { events, verify } = await sealedTrail(5);
    const third = eventAt(events, 3);
    await db.update(auditEvents).set({ action: "mfa.enabled" }).where(eq(auditEvents.id, third.id));
    expect((await verify()).first_broken).toEqual({ id: third.id, seq: 3, reason: "altered" });
  });

  it("finds an edit of the details alone", async () => {
    const { events, verify } = await sealedTrail(4);
    const second = eventAt(events, 2);
    await db
      .update(auditEvents)
      .set({ details: { step: 99 } })
      .where(eq(auditEvents.id, second.id));
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.first_broken).toEqual({ id: second.id, seq: 2, reason: "altered" });
  });

  it("finds a deleted event at the one after it", async () => {
    const { events, verify } = await sealedTrail(5);
    await db.delete(auditEvents).where(eq(auditEvents.id, eventAt(events, 3).id));
    expect((await verify()).first_broken).toEqual({ id: eventAt(events, 4).id, seq: 4, reason: "missing" });
  });

  it("finds an event inserted into the middle (the later ones moved up to make room)", async () => {
    const { tenantId, events, verify } = await sealedTrail(4);
    // Shift 3 and 4 up (highest first, so the unique index never sees two at one place).
    for (const seq of [4, 3]) {
      await db
        .update(auditEvents)
        .set({ seq: seq + 1 })
        .where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.seq, seq)));
    }
    const copied = eventAt(events, 2);
    await db.insert(auditEvents).values({
      ...copied,
      id: "forged-event",
      action: "mfa.enabled",
      seq: 3,
    });
    expect((await verify()).first_broken).toEqual({ id: "forged-event", seq: 3, reason: "altered" });
  });

  it("refuses to seal an event written without our key, and reports it", async () => {
    freezeClock(ADOPTION_ENDS_AT + DAY); // past the week in which MAC-less legacy events are adopted
    const { tenantId, admin, verify } = await sealedTrail(2);
    const row = {
      id: "planted",
      tenantId,
      at: Date.now(),
      actorId: admin.user.id,
      action: "mfa.enabled",
      targetId: admin.user.id,
      ip: null,
      details: null,
    };
    await db.insert(auditEvents).values({ ...row, mac: "made-up" });
    expect((await verify()).first_broken).toEqual({ id: "planted", seq: null, reason: "forged" });
    const [planted] = await db.select().from(auditEvents).where(eq(auditEvents.id, "planted"));
    expect(planted?.seq).toBeNull();
    // Without a MAC at all, once the chain has started, it is no better.
    await db.delete(auditEvents).where(eq(auditEvents.id, "planted"));
    await db.insert(auditEvents).values({ ...row, id: "planted-2" });
    expect((await verify()).first_broken).toEqual({ id: "planted-2", seq: null, reason: "forged" });
  });

  it("finds two events swapped at the first of them", async () => {
    const { events, verify } = await sealedTrail(5);
    const [third, fourth] = [eventAt(events, 3), eventAt(events, 4)];
    await db.update(auditEvents).set({ seq: -1 }).where(eq(auditEvents.id, third.id));
    await db.update(auditEvents).set({ seq: 3 }).where(eq(auditEvents.id, fourth.id));
    await db.update(auditEvents).set({ seq: 4 }).where(eq(auditEvents.id, third.id));
    const result = await verify();
    expect(result.first_broken).toEqual({ id: fourth.id, seq: 3, reason: "out_of_order" });
    expect(result.checked).toBe(2);
  });

  it("finds events cut from the end behind a checkpoint", async () => {
    const { tenantId, events, verify } = await sealedTrail(4);
    await checkpointTenant(trail, tenantId);
    await db.delete(auditEvents).where(eq(auditEvents.id, eventAt(events, 4).id));
    expect((await verify()).first_broken).toEqual({ id: null, seq: 4, reason: "truncated" });
  });
});

describe("rebuilding the chain in D1 (the anchor outside D1 holds its head)", () => {
  it("finds events cut from the end with no checkpoint after them", async () => {
    const { events, verify } = await sealedTrail(4);
    await db.delete(auditEvents).where(eq(auditEvents.id, eventAt(events, 4).id));
    expect((await verify()).first_broken).toEqual({ id: null, seq: 4, reason: "truncated" });
  });

  it("does not reseal a chain unsealed in D1 to hide a deleted event", async () => {
    const { tenantId, events, verify } = await sealedTrail(5);
    await checkpointTenant(trail, tenantId);
    // Unseal everything, drop an event and the checkpoints: without the anchor the sealer would
    // rebuild a clean chain from the rest.
    await db.update(auditEvents).set({ seq: null, chain: null }).where(eq(auditEvents.tenantId, tenantId));
    await db.delete(auditEvents).where(eq(auditEvents.id, eventAt(events, 3).id));
    await db.delete(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId));
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.first_broken).toMatchObject({ reason: "truncated" });
    const resealed = await db
      .select({ seq: auditEvents.seq })
      .from(auditEvents)
      .where(eq(auditEvents.tenantId, tenantId));
    expect(resealed.every((e) => e.seq === null)).toBe(true);
  });

  it("adopts events without a MAC only in the week after the chain's release, and never after", async () => {
    freezeClock(ADOPTION_ENDS_AT + DAY);
    const { tenantId, admin, verify } = await sealedTrail(2);
    await db.delete(auditEvents).where(eq(auditEvents.tenantId, tenantId));
    await db.insert(auditEvents).values({
      id: "adopt-me",
      tenantId,
      at: 0, // older than the chain's release
      actorId: admin.user.id,
      action: "mfa.enabled",
      targetId: admin.user.id,
      ip: null,
      details: null,
    });
    const result = await verify();
    expect(result.ok).toBe(false);
    const [planted] = await db.select().from(auditEvents).where(eq(auditEvents.id, "adopt-me"));
    expect(planted?.seq).toBeNull();

    // Inside the window, a legacy event (older than the release) is sealed into the chain.
    freezeClock(CHAIN_RELEASED_AT + DAY);
    const fresh = await createTenant();
    await db.insert(auditEvents).values({ ...legacyEvent(fresh.tenantId), id: "legacy" });
    await sealTenant(trail, fresh.tenantId);
    const [adopted] = await db.select().from(auditEvents).where(eq(auditEvents.id, "legacy"));
    expect(adopted?.seq).toBe(1);
  });

  it("reports a cut tail even when a forged unsealed event is there too", async () => {
    const { tenantId, events, verify } = await sealedTrail(3);
    await db.delete(auditEvents).where(eq(auditEvents.id, eventAt(events, 3).id));
    await db.insert(auditEvents).values({ ...legacyEvent(tenantId), id: "noise", at: Date.now(), mac: "x" });
    expect((await verify()).first_broken).toMatchObject({ seq: 3, reason: "truncated" });
  });

  it("keeps sealing past hundreds of forged events that sort first", async () => {
    const { tenantId } = await createTenant();
    const forged = Array.from({ length: 600 }, (_, i) => ({
      id: `junk-${i}`,
      tenantId,
      at: i,
      actorId: null,
      action: "mfa.enabled",
      targetId: null,
      ip: null,
      details: null,
      mac: "not-ours",
    }));
    for (let i = 0; i < forged.length; i += 8) await db.insert(auditEvents).values(forged.slice(i, i + 8));
    await insertAudit(db, { tenantId, action: "settings.updated", actorId: null, targetId: null, ip: null });
    expect(await sealTenant(trail, tenantId)).toBe(1);
  });
});

describe("concurrent writers", () => {
  it("twenty requests auditing at once, each sealing on its own, leave one unbroken chain", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call("POST", `/api/v1/tenants/${tenantId}/users`, {
          token,
          body: {
            username: `racer-${i}`,
            email: `racer-${i}@example.com`,
            password: `a-long-passphrase-${i}-xyz`,
            role: "member",
          },
        }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual(Array(20).fill(201));
    // Writers and sealers of their own at once, as separate requests would be.
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const own = openDb(env.DB, config.auditSigningKey);
        await insertAudit(own, {
          tenantId,
          action: "reminders.sent",
          actorId: null,
          targetId: null,
          ip: null,
          details: { i },
        });
        await sealTenant({ env, db: own }, tenantId);
      }),
    );
    const response = await call("GET", `/api/v1/tenants/${tenantId}/audit-events/verify`, { token });
    expect(response.json).toMatchObject({ ok: true, pending: 0, first_broken: null });
    const seqs = (
      await db.select({ seq: auditEvents.seq }).from(auditEvents).where(eq(auditEvents.tenantId, tenantId))
    ).map((e) => e.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(30);
    expect([...seqs].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: seqs.length }, (_, i) => i + 1),
    );
    expect(response.json.checked).toBe(seqs.length);
  });
});

describe("the retention purge", () => {
  function runDailyCron() {
    return worker.scheduled(createScheduledController({ cron: "0 8 * * *" }), env, createExecutionContext());
  }

  it("cuts the chain at a signed checkpoint, and what remains still verifies", async () => {
    const { tenantId, verify } = await sealedTrail(3);
    advanceClock((Number(env.AUDIT_RETENTION_DAYS) + 1) * DAY);
    await insertAudit(db, {
      tenantId,
      action: "settings.updated",
      actorId: null,
      targetId: null,
      ip: null,
      details: { late: true },
    });
    await runDailyCron();
    const left = await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId));
    expect(left.map((e) => e.seq)).toEqual([4]);
    const result = await verify();
    expect(result).toMatchObject({
      ok: true,
      checked: 1,
      first_broken: null,
      last_checkpoint: { seq: 4, kind: "daily" },
    });
    const cuts = await db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId));
    expect(cuts.map((c) => [c.kind, c.seq]).sort()).toEqual([
      ["cut", 3],
      ["daily", 4],
    ]);
    // Taking the cut away does not pass for a purge: the events before 4 are missing.
    await db
      .delete(auditCheckpoints)
      .where(and(eq(auditCheckpoints.tenantId, tenantId), eq(auditCheckpoints.kind, "cut")));
    expect((await verify()).first_broken).toMatchObject({ seq: 4, reason: "missing" });
  });
  it("never cuts past what verified: a junk checkpoint does not let backdated events be purged", async () => {
    const { tenantId, verify } = await sealedTrail(3);
    await db.update(auditEvents).set({ at: 0 }).where(eq(auditEvents.tenantId, tenantId));
    await db
      .insert(auditCheckpoints)
      .values({ tenantId, seq: 1e9, chain: "junk", at: 0, kind: "daily", signature: "junk" });
    await runDailyCron();
    expect(await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId))).toHaveLength(3);
    await db.delete(auditCheckpoints).where(eq(auditCheckpoints.seq, 1e9));
    expect((await verify()).first_broken).toMatchObject({ seq: 1, reason: "altered" });
  });

  it("never cuts past a break: times edited to look old do not get events purged", async () => {
    const { tenantId, verify } = await sealedTrail(3);
    await db.update(auditEvents).set({ at: 0 }).where(eq(auditEvents.tenantId, tenantId));
    await runDailyCron();
    const left = await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId));
    expect(left).toHaveLength(3);
    expect((await verify()).first_broken).toMatchObject({ seq: 1, reason: "altered" });
  });
});

describe("checkpoints", () => {
  it("refuses a checkpoint signed with another key", async () => {
    const { tenantId, events, verify } = await sealedTrail(3);
    const other = crypto.getRandomValues(new Uint8Array(32));
    const last = eventAt(events, 3);
    await db
      .insert(auditCheckpoints)
      .values(
        signCheckpoint(other, { tenantId, seq: 3, chain: last.chain ?? "", at: Date.now(), kind: "cut" }),
      );
    expect((await verify()).first_broken).toEqual({ id: null, seq: 3, reason: "checkpoint_invalid" });
  });

  it("accepts the same checkpoint signed with our key", async () => {
    const { tenantId, events, verify } = await sealedTrail(3);
    const last = eventAt(events, 3);
    await db.insert(auditCheckpoints).values(
      signCheckpoint(config.auditSigningKey, {
        tenantId,
        seq: 3,
        chain: last.chain ?? "",
        at: Date.now(),
        kind: "daily",
      }),
    );
    expect(await verify()).toMatchObject({
      ok: true,
      checked: 3,
      last_checkpoint: { seq: 3, kind: "daily" },
    });
  });
});

describe("who may verify", () => {
  it("refuses a member, and an admin of another tenant", async () => {
    const { tenantId } = await sealedTrail(1);
    const member = await addUser(tenantId);
    const path = `/api/v1/tenants/${tenantId}/audit-events/verify`;
    expectError(await call("GET", path, { token: await sessionToken(member) }), 403, "forbidden");
    const other = await createTenant();
    expectError(await call("GET", path, { token: await sessionToken(other.admin) }), 403, "forbidden");
  });
});
