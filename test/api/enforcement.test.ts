// Organisation-wide enforcement with grace periods, driven by the server clock.
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../src/clock";
import { addUser, createTenant, type TestUser } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

async function enforce(admin: TestUser, body: Record<string, unknown>) {
  const token = await sessionToken(admin);
  const response = await call("PATCH", `/api/v1/tenants/${admin.tenantId}/settings`, { token, body });
  expect(response.status).toBe(200);
  return response.json;
}

async function tenantWithMember() {
  const { tenantId, admin } = await createTenant();
  const member = await addUser(tenantId);
  return { tenantId, admin, member };
}

describe("grace period", () => {
  it("counts down from 7 days to 1, then blocks at the deadline", async () => {
    const { admin, member } = await tenantWithMember();
    const settings = await enforce(admin, { mfa_required: true, mfa_grace_period_days: 7 });
    const deadline = Date.parse(settings.mfa_enforced_since) + 7 * DAY;

    const first = await login(member);
    expect(first.status).toBe(200);
    expect(first.json.token).toBeTypeOf("string");
    expect(first.json.mfa_enrollment).toEqual({
      required: true,
      deadline: new Date(deadline).toISOString(),
      days_remaining: 7,
    });
    const me = await call("GET", "/api/v1/auth/me", { token: first.json.token });
    expect(me.json.mfa_enrollment.days_remaining).toBe(7);

    const seen = [];
    for (let day = 1; day <= 6; day++) {
      advanceClock(DAY);
      seen.push((await login(member)).json.mfa_enrollment.days_remaining);
    }
    expect(seen).toEqual([6, 5, 4, 3, 2, 1]);

    advanceClock(DAY - 60_000);
    const lastMinute = await login(member);
    expect(lastMinute.json.mfa_enrollment.days_remaining).toBe(1);
    advanceClock(60_000); // exactly the deadline
    const blocked = await login(member);
    expect(blocked.status).toBe(200);
    expect(blocked.json).toEqual({
      mfa_enrollment_required: true,
      enrollment_token: expect.any(String),
      user: expect.objectContaining({ id: member.user.id }),
    });
    expect(blocked.json.token).toBeUndefined();
    // A session opened during grace is narrowed to enrollment once the deadline passes.
    const graceToken = lastMinute.json.token;
    expectError(await call("GET", "/api/v1/auth/me", { token: graceToken }), 403, "mfa_enrollment_required");
    expect((await call("POST", "/api/v1/mfa/setup", { token: graceToken })).status).toBe(200);
  });

  it("leaves a session whose enrollment is overdue able to re-authenticate, enroll and sign out", async () => {
    const { admin, member } = await tenantWithMember();
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 1 });
    advanceClock(20 * HOUR);
    const token = (await login(member)).json.token;
    advanceClock(5 * HOUR); // past the deadline, the session still alive

    expectError(await call("GET", "/api/v1/auth/me", { token }), 403, "mfa_enrollment_required");
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "reauthentication_required");
    const proved = await call("POST", "/api/v1/auth/reauthenticate", {
      token,
      body: { password: member.password },
    });
    expect(proved.status).toBe(200);
    expect((await call("POST", "/api/v1/mfa/setup", { token })).status).toBe(200);
    expect((await call("POST", "/api/v1/auth/logout", { token })).status).toBe(204);
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "unauthorized");
  });

  it("moves every deadline when the grace days change, and tells the admin the consequence", async () => {
    const { admin, member } = await tenantWithMember();
    const on = await enforce(admin, { mfa_required: true, mfa_grace_period_days: 7 });
    expect(on.impact).toEqual({
      users_without_mfa: 2,
      blocked_now: 0,
      in_grace: 2,
      grace_deadline: new Date(Date.parse(on.mfa_enforced_since) + 7 * DAY).toISOString(),
    });
    const longer = await enforce(admin, { mfa_grace_period_days: 14 });
    expect(longer.mfa_enforced_since).toBe(on.mfa_enforced_since);
    expect((await login(member)).json.mfa_enrollment.days_remaining).toBe(14);
    advanceClock(3 * DAY);
    const none = await enforce(admin, { mfa_grace_period_days: 0 });
    expect(none.impact).toMatchObject({ users_without_mfa: 2, blocked_now: 2, in_grace: 0 });
    expect((await login(member)).json.mfa_enrollment_required).toBe(true);
  });

  it("starts a new clock when enforcement is turned off and on again", async () => {
    const { admin: plainAdmin, member } = await tenantWithMember();
    const admin = await enrollMfa(plainAdmin);
    const adminSession = async () => {
      advanceClock(30_000); // a fresh TOTP step for each sign-in
      return (await login(admin, { mfa_code: await totpCode(admin.secret) })).json.token as string;
    };
    const settingsPath = `/api/v1/tenants/${admin.tenantId}/settings`;
    const patch = async (body: Record<string, unknown>) =>
      (await call("PATCH", settingsPath, { token: await adminSession(), body })).json;

    const first = await patch({ mfa_required: true, mfa_grace_period_days: 7 });
    advanceClock(10 * DAY);
    expect((await login(member)).json.mfa_enrollment_required).toBe(true);
    expect(await patch({ mfa_required: false })).toMatchObject({
      mfa_required: false,
      mfa_enforced_since: null,
    });
    expect((await login(member)).json.mfa_enrollment).toBeUndefined();
    const again = await patch({ mfa_required: true });
    expect(Date.parse(again.mfa_enforced_since)).toBeGreaterThan(
      Date.parse(first.mfa_enforced_since) + 9 * DAY,
    );
    expect((await login(member)).json.mfa_enrollment.days_remaining).toBe(7);
  });
});

describe("who is enforced", () => {
  it("blocks a user created after enforcement began at their first login, without grace", async () => {
    const { tenantId, admin } = await createTenant();
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 30 });
    advanceClock(1000);
    const newcomer = await addUser(tenantId);
    const response = await login(newcomer);
    expect(response.json.mfa_enrollment_required).toBe(true);
    expect(response.json.token).toBeUndefined();
  });

  it("enforces admins like everyone else", async () => {
    const { admin } = await tenantWithMember();
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 2 });
    expect((await login(admin)).json.mfa_enrollment.days_remaining).toBe(2);
    advanceClock(2 * DAY);
    expect((await login(admin)).json.mfa_enrollment_required).toBe(true);
  });

  it("leaves users with MFA alone, and refuses to let them disable it", async () => {
    const { admin, member } = await tenantWithMember();
    const enrolled = await enrollMfa(member);
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 0 });
    const signIn = await login(enrolled, { mfa_code: await totpCode(enrolled.secret) });
    expect(signIn.json.token).toBeTypeOf("string");
    expect(signIn.json.mfa_enrollment).toBeUndefined();
    advanceClock(30_000);
    const disable = await call("POST", "/api/v1/mfa/disable", {
      token: signIn.json.token,
      body: { code: await totpCode(enrolled.secret) },
    });
    expectError(disable, 403, "mfa_enforced");
    const status = await call("GET", "/api/v1/mfa/status", { token: signIn.json.token });
    expect(status.json).toMatchObject({ mfa_enabled: true, enforcement: { required: true } });
  });
});

describe("enrollment token", () => {
  it("is refused everywhere but setup and verify, and verify turns it into a session", async () => {
    const { admin, member } = await tenantWithMember();
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 0 });
    const token = (await login(member)).json.enrollment_token;
    expectError(await call("GET", "/api/v1/auth/me", { token }), 401, "unauthorized");
    expectError(await call("GET", "/api/v1/mfa/status", { token }), 401, "unauthorized");
    const setup = await call("POST", "/api/v1/mfa/setup", { token });
    expect(setup.status).toBe(200);
    const verify = await call("POST", "/api/v1/mfa/verify", {
      token,
      body: { code: await totpCode(setup.json.secret) },
    });
    expect(verify.status).toBe(200);
    const session = verify.json.token;
    const me = await call("GET", "/api/v1/auth/me", { token: session });
    expect(me.status).toBe(200);
    expect(me.json.user.mfa_enabled).toBe(true);
    expect(me.json.mfa_enrollment).toBeUndefined();
  });

  it("can sign out, and is refused at once afterwards", async () => {
    const { admin, member } = await tenantWithMember();
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 0 });
    const token = (await login(member)).json.enrollment_token;
    expect((await call("POST", "/api/v1/auth/logout", { token })).status).toBe(204);
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "unauthorized");
  });

  it("expires after 15 minutes", async () => {
    const { admin, member } = await tenantWithMember();
    await enforce(admin, { mfa_required: true, mfa_grace_period_days: 0 });
    const token = (await login(member)).json.enrollment_token;
    advanceClock(15 * 60 * 1000 + 1000);
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "unauthorized");
  });
});
