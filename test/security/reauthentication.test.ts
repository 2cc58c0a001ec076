// Turning MFA on needs a fresh proof of the password (ASVS 5 §7.5.1; security.md, attack 20): with
// a stolen session alone, an attacker must not be able to enroll their own authenticator.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { advanceClock } from "../../src/clock";
import { POLICIES } from "../../src/limiter/policy";
import type { EmailJob } from "../../src/reminders/jobs";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, ORIGIN, sessionToken } from "../helpers/http";
import { recordingQueue } from "../helpers/recording";
import { enrollMfa, nextStep, totpCode } from "../helpers/totp";

const MINUTE = 60_000;
const FRESH_MS = 10 * MINUTE;

async function pendingSecret(userId: string) {
  const row = await env.DB.prepare("select totp_pending_secret as pending from users where id = ?")
    .bind(userId)
    .first<{ pending: string | null }>();
  return row?.pending ?? null;
}

const reauthenticate = (token: string, body: Record<string, unknown>) =>
  call("POST", "/api/v1/auth/reauthenticate", { token, body });

describe("turning MFA on", () => {
  it("works with only the bearer token for a session signed in within the last 10 minutes", async () => {
    const { tenantId } = await createTenant();
    const token = await sessionToken(await addUser(tenantId));
    advanceClock(FRESH_MS - 1000);
    expect((await call("POST", "/api/v1/mfa/setup", { token })).status).toBe(200);
  });

  it("is refused to an older session (a stolen one) with 401 reauthentication_required, and nothing is pending", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await sessionToken(user);
    advanceClock(FRESH_MS + 1000);
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "reauthentication_required");
    expect(await pendingSecret(user.user.id)).toBeNull();
    // The session itself still works for everything else.
    expect((await call("GET", "/api/v1/auth/me", { token })).status).toBe(200);
  });

  it("works for an enrollment token for as long as it lives", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    await call("PATCH", `/api/v1/tenants/${tenantId}/settings`, {
      token: adminToken,
      body: { mfa_required: true, mfa_grace_period_days: 0 },
    });
    const user = await addUser(tenantId);
    const { enrollment_token: enrollmentToken } = (await login(user)).json;
    advanceClock(14 * MINUTE);
    expect((await call("POST", "/api/v1/mfa/setup", { token: enrollmentToken })).status).toBe(200);
  });

  it("opens again for 10 minutes once the password is proved again", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await sessionToken(user);
    advanceClock(FRESH_MS + 1000);
    expectError(await reauthenticate(token, { password: "not my password" }), 401, "invalid_password");
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "reauthentication_required");

    const proved = await reauthenticate(token, { password: user.password });
    expect(proved.status).toBe(200);
    expect(Date.parse(proved.json.fresh_until)).toBeGreaterThan(Date.now());
    expect((await call("POST", "/api/v1/mfa/setup", { token })).status).toBe(200);
    advanceClock(FRESH_MS + 1000);
    expectError(await call("POST", "/api/v1/mfa/setup", { token }), 401, "reauthentication_required");
  });

  it("counts wrong passwords at re-authentication against the sign-in budget", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await sessionToken(user);
    for (let i = 0; i < POLICIES.password.limit; i++) {
      expectError(await reauthenticate(token, { password: `guess ${i}` }), 401, "invalid_password");
    }
    // While locked, the right password gets the same refusal, like at sign-in.
    expectError(await reauthenticate(token, { password: user.password }), 429, "too_many_attempts");
  });

  it("asks a user with MFA for the second factor too when they re-authenticate", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    advanceClock(FRESH_MS + 1000);
    expectError(await reauthenticate(user.token, { password: user.password }), 401, "invalid_mfa_code");
    nextStep();
    const code = await totpCode(user.secret);
    expect((await reauthenticate(user.token, { password: user.password, code })).status).toBe(200);
    // The code was claimed: it cannot be replayed anywhere.
    expectError(await login(user, { mfa_code: code }), 401, "invalid_mfa_code");
  });

  it("is needed to move to a new device too: a stolen session and a leaked code are not enough", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    advanceClock(FRESH_MS + 1000);
    expectError(
      await call("POST", "/api/v1/mfa/setup", { token: user.token, body: { code: user.backupCodes[0] } }),
      401,
      "reauthentication_required",
    );
    // The backup code was not spent by the refusal.
    nextStep();
    const code = await totpCode(user.secret);
    expect((await reauthenticate(user.token, { password: user.password, code })).status).toBe(200);
    const moved = await call("POST", "/api/v1/mfa/setup", {
      token: user.token,
      body: { code: user.backupCodes[0] },
    });
    expect(moved.status).toBe(200);
  });

  it("emails the owner once MFA is on", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await sessionToken(user);
    const setup = await call("POST", "/api/v1/mfa/setup", { token });
    const { sent, binding } = recordingQueue();
    const verify = await app.fetch(
      new Request(`${ORIGIN}/api/v1/mfa/verify`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ code: await totpCode(setup.json.secret) }),
      }),
      { ...env, EMAIL_QUEUE: binding },
    );
    expect(verify.status).toBe(200);
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toMatchObject({
      kind: "security",
      event: "mfa_enabled",
      userId: user.user.id,
      to: user.user.email,
    } satisfies Partial<EmailJob>);
  });
});

describe("creating users", () => {
  const create = (tenantId: string, token: string, role: "admin" | "member") =>
    call("POST", `/api/v1/tenants/${tenantId}/users`, {
      token,
      body: {
        username: `new-${role}-${crypto.randomUUID().slice(0, 6)}`,
        email: "n@example.com",
        password: "a long enough password",
        role,
      },
    });

  it("needs a fresh sign-in for an admin (a stolen session must not mint a lasting one), and audits every account", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    advanceClock(FRESH_MS + 1000);
    expectError(await create(tenantId, token, "admin"), 401, "reauthentication_required");
    const member = await create(tenantId, token, "member");
    expect(member.status).toBe(201);
    expect((await reauthenticate(token, { password: admin.password })).status).toBe(200);
    const newAdmin = await create(tenantId, token, "admin");
    expect(newAdmin.status).toBe(201);

    const events = await env.DB.prepare(
      "select actor_id, target_id, details from audit_events where tenant_id = ? and action = 'user.created' order by at",
    )
      .bind(tenantId)
      .all<{ actor_id: string; target_id: string; details: string }>();
    expect(events.results.map((e) => [e.actor_id, e.target_id, JSON.parse(e.details).role])).toEqual([
      [admin.user.id, member.json.user.id, "member"],
      [admin.user.id, newAdmin.json.user.id, "admin"],
    ]);
  });
});
