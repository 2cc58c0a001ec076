// Two requests interleaved at the worst moment, forced by holding one request's D1 round trip until
// the other has committed (test/robustness/bindings.ts, beforeTrip). Security.md, attack 22: no
// session may keep less strength than the account has by the time it is written.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addUser, createTenant } from "../helpers/factory";
import { call, callRecordingEmail, expectError, sessionToken } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";
import { apiRequest, type D1Trip, instrumentedEnv, readJson } from "./bindings";

const writesSession = (trip: D1Trip) => trip.sql.some((sql) => /insert into "sessions"/i.test(sql));

async function liveSessions(userId: string): Promise<number> {
  const row = await env.DB.prepare(
    "select count(*) as n from sessions where user_id = ? and kind = 'session' and revoked_at is null",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("a password-only sign-in racing MFA being turned on", () => {
  it("gets no session once verify has committed between its read and its write", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await sessionToken(user);
    const setup = await call("POST", "/api/v1/mfa/setup", { token });
    const code = await totpCode(setup.json.secret);
    let verified = false;
    const racing = instrumentedEnv({
      beforeTrip: async (trip) => {
        if (verified || !writesSession(trip)) return;
        verified = true;
        expect((await call("POST", "/api/v1/mfa/verify", { token, body: { code } })).status).toBe(200);
      },
    });
    const body = { username: user.username, password: user.password, tenant_id: tenantId };
    const response = await readJson(await racing.fetch(apiRequest("POST", "/api/v1/auth/login", { body })));
    expect(verified).toBe(true);
    expect(response.status).toBe(200);
    expect(response.json.token).toBeUndefined();
    expect(response.json.mfa_required).toBe(true);
    // Only the session that turned MFA on is left.
    expect(await liveSessions(user.user.id)).toBe(1);
  });
});

describe("a one-request MFA sign-in racing the account being changed", () => {
  /** Signs in with password and code in one request, running `change` just before the session is written. */
  async function signInRacing(change: () => Promise<void>) {
    const { tenantId, admin } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const adminToken = await sessionToken(admin);
    let changed = false;
    const racing = instrumentedEnv({
      beforeTrip: async (trip) => {
        if (changed || !writesSession(trip)) return;
        changed = true;
        await change.call(null);
      },
    });
    const body = {
      username: user.username,
      password: user.password,
      tenant_id: tenantId,
      mfa_code: await totpCode(user.secret),
    };
    return { user, adminToken, racing, body, changed: () => changed };
  }

  it("gets no session once a password reset has committed between its read and its write", async () => {
    let reset: () => Promise<void> = async () => {};
    const race = await signInRacing(() => reset());
    const asked = await callRecordingEmail("POST", "/api/v1/auth/password/forgot", {
      body: { tenant_id: race.user.tenantId, username: race.user.username },
    });
    const link = asked.sent.find((job) => job.kind === "password_reset");
    if (link?.kind !== "password_reset") throw new Error("no reset link sent");
    reset = async () => {
      const body = { token: link.token, new_password: "a brand new passphrase 7" };
      expect((await call("POST", "/api/v1/auth/password/reset", { body })).status).toBe(204);
    };
    const response = await readJson(
      await race.racing.fetch(apiRequest("POST", "/api/v1/auth/login", { body: race.body })),
    );
    expect(race.changed()).toBe(true);
    expect(response.json.token).toBeUndefined();
    expect(await liveSessions(race.user.user.id)).toBe(0);
  });

  it("gets no session once a deactivation has committed, so reactivating brings none back", async () => {
    let deactivate: () => Promise<void> = async () => {};
    const race = await signInRacing(() => deactivate());
    const path = `/api/v1/tenants/${race.user.tenantId}/users/${race.user.user.id}`;
    deactivate = async () => {
      expect((await call("PATCH", path, { token: race.adminToken, body: { active: false } })).status).toBe(
        200,
      );
    };
    const response = await readJson(
      await race.racing.fetch(apiRequest("POST", "/api/v1/auth/login", { body: race.body })),
    );
    expect(race.changed()).toBe(true);
    expect(response.json.token).toBeUndefined();
    expect((await call("PATCH", path, { token: race.adminToken, body: { active: true } })).status).toBe(200);
    expect(await liveSessions(race.user.user.id)).toBe(0);
  });
});

describe("two admins changing the settings at once", () => {
  it("never both hear 200: one change wins, the other is refused with 409, and the trail shows what was written", async () => {
    for (let round = 0; round < 20; round++) {
      const { tenantId, admin } = await createTenant();
      const token = await sessionToken(admin);
      const patch = (body: Record<string, unknown>) =>
        call("PATCH", `/api/v1/tenants/${tenantId}/settings`, { token, body });
      // A grace period first, so that turning enforcement on leaves the admin able to read after.
      expect((await patch({ mfa_grace_period_days: 7 })).status).toBe(200);
      const answers = await Promise.all([
        patch({ mfa_required: true }),
        patch({ mfa_grace_period_days: 30 }),
      ]);
      const final = (await call("GET", `/api/v1/tenants/${tenantId}/settings`, { token })).json;
      const trail = await call("GET", `/api/v1/tenants/${tenantId}/audit-events`, { token });
      expect(trail.status, JSON.stringify(trail.json)).toBe(200);
      const events = trail.json.events
        .filter((e: { action: string }) => e.action === "settings.updated")
        .reverse();
      const won = answers.filter((a) => a.status === 200);
      for (const lost of answers.filter((a) => a.status !== 200)) expectError(lost, 409, "settings_conflict");
      // Whatever each admin was told is true: the winners' answers and the audit trail agree with
      // the final state, event by event.
      expect(won.length).toBeGreaterThanOrEqual(1);
      expect(events).toHaveLength(won.length + 1);
      const { impact: _, ...last } = (won.at(-1) ?? answers[0]).json;
      if (won.length === 1) expect(last).toEqual(final);
      if (won.length === 2) expect(final).toMatchObject({ mfa_required: true, mfa_grace_period_days: 30 });
      expect(events.at(-1).details.after).toEqual(final);
      for (let i = 1; i < events.length; i++)
        expect(events[i].details.before).toEqual(events[i - 1].details.after);
    }
  }, 60_000);
});
