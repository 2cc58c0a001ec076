// Tenant administration: reset, dashboard, reminders, audit trail, and who may use them.
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { advanceClock } from "../../src/clock";
import worker from "../../src/index";
import { addUser, createTenant, type TestUser } from "../helpers/factory";
import { call, expectError, login, ORIGIN, sessionToken } from "../helpers/http";
import { recordingQueue } from "../helpers/recording";
import { enrollMfa, totpCode } from "../helpers/totp";

const DAY = 24 * 60 * 60 * 1000;
const base = (tenantId: string) => `/api/v1/tenants/${tenantId}`;

async function adminSession(admin: TestUser) {
  return sessionToken(admin);
}

describe("settings", () => {
  it("starts with MFA not required", async () => {
    const { tenantId, admin } = await createTenant();
    const response = await call("GET", `${base(tenantId)}/settings`, { token: await adminSession(admin) });
    expect(response.json).toEqual({
      mfa_required: false,
      mfa_grace_period_days: 0,
      mfa_enforced_since: null,
    });
  });

  it("refuses a grace period outside 0..90 days and unknown fields", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await adminSession(admin);
    for (const body of [
      { mfa_grace_period_days: 91 },
      { mfa_grace_period_days: -1 },
      { mfa_grace_period_days: 1.5 },
      { mfa_enforced_since: 0 },
      { mfa_required: "yes" },
    ]) {
      expectError(await call("PATCH", `${base(tenantId)}/settings`, { token, body }), 400, "invalid_request");
    }
  });
});

describe("admin MFA reset", () => {
  it("removes the user's MFA, ends their sessions, writes an audit event and emails the user", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const userSession = (await login(user, { mfa_code: await totpCode(user.secret) })).json.token;
    const { sent, binding } = recordingQueue();
    const response = await app.fetch(
      new Request(`${ORIGIN}${base(tenantId)}/users/${user.user.id}/reset-mfa`, {
        method: "POST",
        headers: { authorization: `Bearer ${await adminSession(admin)}`, "cf-connecting-ip": "192.0.2.10" },
      }),
      { ...env, EMAIL_QUEUE: binding },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: { mfa_enabled: boolean } }).user.mfa_enabled).toBe(false);
    expectError(await call("GET", "/api/v1/auth/me", { token: userSession }), 401, "unauthorized");
    expectError(await call("GET", "/api/v1/auth/me", { token: user.token }), 401, "unauthorized");
    // Signs in with the password alone now; the old secret and codes are gone.
    const after = await login(user);
    expect(after.json.token).toBeTypeOf("string");
    expect(after.json.user.mfa_enabled).toBe(false);
    const leftovers = await env.DB.prepare(
      "select (select count(*) from backup_codes where user_id = ?1) as codes, (select totp_secret from users where id = ?1) as secret",
    )
      .bind(user.user.id)
      .first();
    expect(leftovers).toEqual({ codes: 0, secret: null });
    const audit = await env.DB.prepare(
      "select actor_id, ip from audit_events where action = 'mfa.reset' and target_id = ?",
    )
      .bind(user.user.id)
      .first();
    expect(audit).toEqual({ actor_id: admin.user.id, ip: "192.0.2.10" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent).toEqual([
      expect.objectContaining({
        kind: "security",
        event: "mfa_reset",
        userId: user.user.id,
        to: user.user.email,
      }),
    ]);
  });

  it("never reopens a grace period", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const adminToken = await adminSession(admin);
    await call("PATCH", `${base(tenantId)}/settings`, {
      token: adminToken,
      body: { mfa_required: true, mfa_grace_period_days: 14 },
    });
    advanceClock(DAY);
    await call("POST", `${base(tenantId)}/users/${user.user.id}/reset-mfa`, {
      token: await adminSession(admin),
    });
    const response = await login(user);
    expect(response.json.mfa_enrollment_required).toBe(true);
    expect(response.json.token).toBeUndefined();
  });

  it("lets an admin reset another admin, but not a user of another tenant", async () => {
    const { tenantId, admin } = await createTenant();
    const other = await enrollMfa(await addUser(tenantId, { role: "admin" }));
    const stranger = await createTenant();
    const token = await adminSession(admin);
    expect((await call("POST", `${base(tenantId)}/users/${other.user.id}/reset-mfa`, { token })).status).toBe(
      200,
    );
    expectError(
      await call("POST", `${base(tenantId)}/users/${stranger.admin.user.id}/reset-mfa`, { token }),
      404,
      "not_found",
    );
  });

  it("refuses an admin's reset of their own MFA: turning it off needs a current code", async () => {
    const { tenantId, admin } = await createTenant();
    const enrolled = await enrollMfa(admin);
    expectError(
      await call("POST", `${base(tenantId)}/users/${admin.user.id}/reset-mfa`, { token: enrolled.token }),
      403,
      "forbidden",
    );
    const me = await call("GET", "/api/v1/auth/me", { token: enrolled.token });
    expect(me.json.user.mfa_enabled).toBe(true);
  });
});

describe("enrollment dashboard", () => {
  it("counts users and lists those without MFA with their deadlines, a page at a time", async () => {
    const { tenantId, admin } = await createTenant();
    const users = [];
    for (const name of ["ann", "ben", "cat", "dan"]) users.push(await addUser(tenantId, { username: name }));
    await enrollMfa(users[1] as TestUser);
    await enrollMfa(users[3] as TestUser);
    const token = await adminSession(admin);
    const settings = await call("PATCH", `${base(tenantId)}/settings`, {
      token,
      body: { mfa_required: true, mfa_grace_period_days: 5 },
    });
    const deadline = new Date(Date.parse(settings.json.mfa_enforced_since) + 5 * DAY).toISOString();
    advanceClock(1000);
    const late = await addUser(tenantId, { username: "eve" });

    const first = await call("GET", `${base(tenantId)}/mfa/status?limit=2`, { token });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ total_users: 6, enrolled_users: 2 });
    expect(first.json.not_enrolled).toEqual([
      { id: admin.user.id, username: "admin", email: "admin@example.com", deadline, blocked: false },
      { id: users[0]?.user.id, username: "ann", email: "ann@example.com", deadline, blocked: false },
    ]);
    const second = await call(
      "GET",
      `${base(tenantId)}/mfa/status?limit=2&cursor=${first.json.next_cursor}`,
      { token },
    );
    expect(second.json.not_enrolled.map((u: { username: string }) => u.username)).toEqual(["cat", "eve"]);
    expect(second.json.not_enrolled[1]).toMatchObject({ id: late.user.id, blocked: true });
    expect(second.json.next_cursor).toBeNull();
  });

  it("keeps its counts right through enable, disable, reset and new users", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const counts = async () => {
      const r = await call("GET", `${base(tenantId)}/mfa/status`, { token: await adminSession(admin) });
      return [r.json.total_users, r.json.enrolled_users];
    };
    expect(await counts()).toEqual([2, 1]);
    await addUser(tenantId);
    expect(await counts()).toEqual([3, 1]);
    await call("POST", `${base(tenantId)}/users/${user.user.id}/reset-mfa`, {
      token: await adminSession(admin),
    });
    expect(await counts()).toEqual([3, 0]);
  });
});

describe("reminder emails on demand", () => {
  it("queues one reminder per chosen user without MFA, and the whole tenant through a plan job", async () => {
    const { tenantId, admin } = await createTenant();
    const a = await addUser(tenantId);
    const b = await enrollMfa(await addUser(tenantId));
    const { sent, binding } = recordingQueue();
    const post = (body?: unknown) =>
      adminSession(admin).then((token) =>
        app.fetch(
          new Request(`${ORIGIN}${base(tenantId)}/mfa/reminders`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${token}`,
              ...(body === undefined ? {} : { "content-type": "application/json" }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          }),
          { ...env, EMAIL_QUEUE: binding },
        ),
      );
    const chosen = await post({ user_ids: [a.user.id, b.user.id, "nobody"] });
    expect(chosen.status).toBe(202);
    expect(await chosen.json()).toEqual({ queued: 1 });
    expect(sent).toEqual([
      expect.objectContaining({ kind: "reminder", userId: a.user.id, milestone: "manual" }),
    ]);
    const everyone = await post();
    expect(await everyone.json()).toEqual({ queued: 2 });
    expect(sent[1]).toEqual({ kind: "plan", id: expect.any(String), tenantId, mode: "manual", cursor: null });
  });

  it("is limited per tenant: the fourth click in a day is refused with Retry-After", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await adminSession(admin);
    for (let i = 0; i < 3; i++) {
      expect((await call("POST", `${base(tenantId)}/mfa/reminders`, { token })).status).toBe(202);
    }
    const refused = await call("POST", `${base(tenantId)}/mfa/reminders`, { token });
    expectError(refused, 429, "too_many_attempts");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3600);
    // Another tenant is not affected.
    const other = await createTenant();
    expect(
      (
        await call("POST", `${base(other.tenantId)}/mfa/reminders`, {
          token: await adminSession(other.admin),
        })
      ).status,
    ).toBe(202);
  });
});

describe("audit trail", () => {
  it("keeps events for AUDIT_RETENTION_DAYS: the daily cron deletes older ones", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await adminSession(admin);
    const retention = Number(env.AUDIT_RETENTION_DAYS);
    await call("PATCH", `${base(tenantId)}/settings`, { token, body: { mfa_grace_period_days: 5 } });
    advanceClock((retention - 1) * DAY);
    await call("PATCH", `${base(tenantId)}/settings`, {
      token: await adminSession(admin),
      body: { mfa_grace_period_days: 6 },
    });
    advanceClock(2 * DAY); // the first event is now past retention, the second is not
    await worker.scheduled(createScheduledController({ cron: "0 8 * * *" }), env, createExecutionContext());
    const events = (await call("GET", `${base(tenantId)}/audit-events`, { token: await adminSession(admin) }))
      .json.events;
    type Event = { action: string; details: { after: { mfa_grace_period_days: number } } };
    expect(events.map((e: Event) => [e.action, e.details.after.mfa_grace_period_days])).toEqual([
      ["settings.updated", 6],
    ]);
  });

  it("lists every change newest first with actor, target, IP and time, a page at a time", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const token = await adminSession(admin);
    await call("PATCH", `${base(tenantId)}/settings`, {
      token,
      body: { mfa_required: true, mfa_grace_period_days: 3 },
    });
    await call("POST", `${base(tenantId)}/users/${user.user.id}/reset-mfa`, { token });
    const actions: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(
        "GET",
        `${base(tenantId)}/audit-events?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { token },
      );
      expect(page.status).toBe(200);
      actions.push(...page.json.events.map((e: { action: string }) => e.action));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(actions).toEqual(["mfa.reset", "settings.updated", "mfa.enabled"]);
    const [reset] = (await call("GET", `${base(tenantId)}/audit-events?limit=1`, { token })).json.events;
    expect(reset).toEqual({
      id: expect.any(String),
      at: expect.stringMatching(/^\d{4}-/),
      actor_id: admin.user.id,
      action: "mfa.reset",
      target_id: user.user.id,
      ip: "127.0.0.1",
      details: { had_mfa: true },
    });
  });
});

describe("access", () => {
  const endpoints = (tenantId: string, userId: string): [string, string, unknown?][] => [
    ["GET", `${base(tenantId)}/settings`],
    ["PATCH", `${base(tenantId)}/settings`, { mfa_required: true }],
    ["GET", `${base(tenantId)}/users`],
    [
      "POST",
      `${base(tenantId)}/users`,
      { username: "x-user", email: "x@example.com", password: "long enough password" },
    ],
    ["POST", `${base(tenantId)}/users/${userId}/reset-mfa`],
    ["GET", `${base(tenantId)}/mfa/status`],
    ["POST", `${base(tenantId)}/mfa/reminders`],
    ["GET", `${base(tenantId)}/audit-events`],
  ];

  it("refuses a member on every admin endpoint with 403", async () => {
    const { tenantId } = await createTenant();
    const member = await addUser(tenantId);
    const token = await sessionToken(member);
    for (const [method, path, body] of endpoints(tenantId, member.user.id)) {
      expectError(await call(method, path, { token, body }), 403, "forbidden");
    }
  });

  it("refuses another tenant's admin on every admin endpoint with 403, and changes nothing", async () => {
    const victim = await createTenant();
    const target = await enrollMfa(await addUser(victim.tenantId));
    const attacker = await createTenant();
    const token = await sessionToken(attacker.admin);
    for (const [method, path, body] of endpoints(victim.tenantId, target.user.id)) {
      expectError(await call(method, path, { token, body }), 403, "forbidden");
    }
    const settings = await call("GET", `${base(victim.tenantId)}/settings`, {
      token: await sessionToken(victim.admin),
    });
    expect(settings.json.mfa_required).toBe(false);
    expect((await login(target)).json.mfa_required).toBe(true);
  });

  it("refuses requests without a session with 401", async () => {
    const { tenantId, admin } = await createTenant();
    for (const [method, path, body] of endpoints(tenantId, admin.user.id)) {
      expectError(await call(method, path, { body }), 401, "unauthorized");
    }
  });
});

describe("security notifications", () => {
  it("emails the user when MFA is disabled with a backup code, and when the device changes", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const { sent, binding } = recordingQueue();
    const post = (path: string, body: unknown) =>
      app.fetch(
        new Request(`${ORIGIN}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
        { ...env, EMAIL_QUEUE: binding },
      );
    const setup = await post("/api/v1/mfa/setup", { code: await totpCode(user.secret) });
    const { secret, backup_codes } = (await setup.json()) as { secret: string; backup_codes: string[] };
    advanceClock(30_000);
    expect((await post("/api/v1/mfa/verify", { code: await totpCode(secret) })).status).toBe(200);
    const disabled = await post("/api/v1/mfa/disable", { code: backup_codes[0] });
    expect(disabled.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent.map((job) => (job.kind === "security" ? [job.event, job.to] : job.kind))).toEqual([
      ["device_changed", user.user.email],
      ["mfa_disabled", user.user.email],
      ["backup_code_used", user.user.email],
    ]);
  });
});
