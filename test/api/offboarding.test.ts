// Offboarding and roles: deactivating, reactivating and deleting users, changing roles, and the
// rules that keep a tenant administrable (never yourself, never the last active admin).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FRESH_SIGN_IN_MS } from "../../src/auth/sessions";
import { advanceClock } from "../../src/clock";
import { runPlanPage } from "../../src/reminders/plan";
import { addUser, createTenant, db, type TestUser } from "../helpers/factory";
import { call, callRecordingEmail, expectError, login, sessionToken } from "../helpers/http";
import { recordingQueue } from "../helpers/recording";
import { enrollMfa } from "../helpers/totp";

const userPath = (tenantId: string, userId: string) => `/api/v1/tenants/${tenantId}/users/${userId}`;

function patchUser(token: string, who: TestUser, body: Record<string, unknown>) {
  return call("PATCH", userPath(who.tenantId, who.user.id), { token, body });
}

async function dashboard(tenantId: string, token: string) {
  const response = await call("GET", `/api/v1/tenants/${tenantId}/mfa/status`, { token });
  expect(response.status).toBe(200);
  return response.json as { total_users: number; enrolled_users: number; not_enrolled: { id: string }[] };
}

describe("deactivating a user", () => {
  it("refuses their sign-in like a wrong password and ends their live session at once", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId);
    const session = await sessionToken(user);
    const adminToken = await sessionToken(admin);
    const wrongPassword = await login({ ...user, password: "not the password" });

    const response = await patchUser(adminToken, user, { active: false });
    expect(response.status).toBe(200);
    expect(response.json.user).toMatchObject({ id: user.user.id, active: false });
    expectError(await call("GET", "/api/v1/auth/me", { token: session }), 401, "unauthorized");
    const refused = await login(user);
    expect({ status: refused.status, json: refused.json }).toEqual({
      status: wrongPassword.status,
      json: wrongPassword.json,
    });
  });

  it("takes them off the dashboard's counts and lists, and reactivating brings them back", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    const plain = await addUser(tenantId);
    const enrolled = await enrollMfa(await addUser(tenantId));
    const before = await dashboard(tenantId, adminToken);
    expect(before).toMatchObject({ total_users: 3, enrolled_users: 1 });

    await patchUser(adminToken, plain, { active: false });
    await patchUser(adminToken, enrolled, { active: false });
    const during = await dashboard(tenantId, adminToken);
    expect(during).toMatchObject({ total_users: 1, enrolled_users: 0 });
    expect(during.not_enrolled.map((u) => u.id)).not.toContain(plain.user.id);

    await patchUser(adminToken, plain, { active: true });
    await patchUser(adminToken, enrolled, { active: true });
    expect(await dashboard(tenantId, adminToken)).toMatchObject({ total_users: 3, enrolled_users: 1 });
    expect((await login(plain)).status).toBe(200);
    // The user list still shows the deactivated, so an admin can bring them back.
    await patchUser(adminToken, plain, { active: false });
    const list = await call("GET", `/api/v1/tenants/${tenantId}/users`, { token: adminToken });
    expect(list.json.users).toContainEqual(expect.objectContaining({ id: plain.user.id, active: false }));
  });

  it("keeps when the deactivation began through a later role change", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    const user = await addUser(tenantId);
    const off = await patchUser(adminToken, user, { active: false });
    const deactivatedAt = async () =>
      (
        await env.DB.prepare("select deactivated_at as at from users where id = ?")
          .bind(user.user.id)
          .first<{ at: number }>()
      )?.at;
    const began = await deactivatedAt();
    advanceClock(60_000);
    expect((await patchUser(adminToken, user, { role: "admin" })).status).toBe(200);
    expect(off.status).toBe(200);
    expect(began).toEqual(expect.any(Number));
    expect(await deactivatedAt()).toBe(began);
  });

  it("sends them no reminders", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    const user = await addUser(tenantId);
    await patchUser(adminToken, user, { active: false });
    const { sent, binding } = recordingQueue();
    await runPlanPage({ ...env, EMAIL_QUEUE: binding }, db, {
      kind: "plan",
      id: "plan:test",
      tenantId,
      mode: "manual",
      cursor: null,
    });
    const recipients = sent.flatMap((job) => (job.kind === "reminder" ? [job.userId] : []));
    expect(recipients).toContain(admin.user.id);
    expect(recipients).not.toContain(user.user.id);
    // Nor when an admin names them.
    const named = await callRecordingEmail("POST", `/api/v1/tenants/${tenantId}/mfa/reminders`, {
      token: adminToken,
      body: { user_ids: [user.user.id] },
    });
    expect(JSON.parse(named.text)).toEqual({ queued: 0 });
    expect(named.sent).toEqual([]);
  });

  it("leaves them out of an enforcement change's impact", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    const settings = `/api/v1/tenants/${tenantId}/settings`;
    const on = await call("PATCH", settings, {
      token: adminToken,
      body: { mfa_required: true, mfa_grace_period_days: 7 },
    });
    expect(on.status).toBe(200);
    const late = await addUser(tenantId); // created under enforcement: no grace
    await patchUser(adminToken, late, { active: false });
    const changed = await call("PATCH", settings, { token: adminToken, body: { mfa_grace_period_days: 5 } });
    // Only the admin lacks MFA, in grace since they existed before enforcement began.
    expect(changed.json.impact).toMatchObject({ users_without_mfa: 1, blocked_now: 0, in_grace: 1 });
  });
});

describe("deleting a user", () => {
  it("removes the account and what hangs from it, and keeps the audit trail by id", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    const user = await enrollMfa(await addUser(tenantId));
    const response = await call("DELETE", userPath(tenantId, user.user.id), { token: adminToken });
    expect(response.status).toBe(204);
    const left = await env.DB.prepare(
      `select (select count(*) from users where id = ?1) as users,
              (select count(*) from sessions where user_id = ?1) as sessions,
              (select count(*) from backup_codes where user_id = ?1) as codes,
              (select count(*) from audit_events where target_id = ?1) as events`,
    )
      .bind(user.user.id)
      .first();
    expect(left).toMatchObject({ users: 0, sessions: 0, codes: 0 });
    expect(Number(left?.events)).toBeGreaterThanOrEqual(2); // mfa.enabled and user.deleted
    expectError(await call("GET", "/api/v1/auth/me", { token: user.token }), 401, "unauthorized");
    expectError(await login(user), 401, "invalid_credentials");
    expect(await dashboard(tenantId, adminToken)).toMatchObject({ total_users: 1, enrolled_users: 0 });
    expectError(
      await call("DELETE", userPath(tenantId, user.user.id), { token: adminToken }),
      404,
      "not_found",
    );
  });
});

describe("the rules that keep a tenant administrable", () => {
  it("never lets an admin deactivate or delete themselves", async () => {
    const { tenantId, admin } = await createTenant();
    await addUser(tenantId, { role: "admin", username: "second-admin" });
    const token = await sessionToken(admin);
    expectError(await patchUser(token, admin, { active: false }), 409, "own_account");
    expectError(await call("DELETE", userPath(tenantId, admin.user.id), { token }), 409, "own_account");
  });

  it("never removes or demotes the last active admin", async () => {
    const { tenantId, admin } = await createTenant();
    const second = await addUser(tenantId, { role: "admin", username: "second-admin" });
    const token = await sessionToken(admin);
    expect((await patchUser(token, second, { active: false })).status).toBe(200);
    // The only active admin left demotes themselves: refused.
    expectError(await patchUser(token, admin, { role: "member" }), 409, "last_admin");
    // A deactivated admin does not count as one: they may be deleted, and the active one stays.
    expect((await call("DELETE", userPath(tenantId, second.user.id), { token })).status).toBe(204);
    expectError(await patchUser(token, admin, { role: "member" }), 409, "last_admin");
  });

  it("lets only one of two admins demoting each other at once win", async () => {
    const { tenantId, admin } = await createTenant();
    const second = await addUser(tenantId, { role: "admin", username: "second-admin" });
    const [a, b] = [await sessionToken(admin), await sessionToken(second)];
    const answers = await Promise.all([
      patchUser(a, second, { role: "member" }),
      patchUser(b, admin, { role: "member" }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const admins = await env.DB.prepare(
      "select count(*) as n from users where tenant_id = ? and role = 'admin' and deactivated_at is null",
    )
      .bind(tenantId)
      .first<{ n: number }>();
    expect(admins?.n).toBe(1);
  });
});

describe("changing a role", () => {
  it("promotes and demotes, audited with both roles", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const user = await addUser(tenantId);
    const promoted = await patchUser(token, user, { role: "admin" });
    expect(promoted.json.user.role).toBe("admin");
    // The new admin can administer now.
    const theirs = await sessionToken(user);
    expect((await call("GET", `/api/v1/tenants/${tenantId}/settings`, { token: theirs })).status).toBe(200);
    expect((await patchUser(token, user, { role: "member" })).json.user.role).toBe("member");
    expectError(
      await call("GET", `/api/v1/tenants/${tenantId}/settings`, { token: theirs }),
      403,
      "forbidden",
    );
    const { results } = await env.DB.prepare(
      "select details from audit_events where action = 'user.role_changed' and target_id = ? order by at",
    )
      .bind(user.user.id)
      .all<{ details: string }>();
    expect(results.map((r) => JSON.parse(r.details))).toEqual([
      { from: "member", to: "admin" },
      { from: "admin", to: "member" },
    ]);
  });

  it("needs a fresh sign-in to make an admin", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const user = await addUser(tenantId);
    advanceClock(FRESH_SIGN_IN_MS + 1000);
    expectError(await patchUser(token, user, { role: "admin" }), 401, "reauthentication_required");
    expect((await patchUser(token, user, { active: false })).status).toBe(200); // removing access needs none
  });
});

describe("who may call the new admin endpoints", () => {
  it("refuses a member on every one of them, and another tenant's admin", async () => {
    const { tenantId } = await createTenant();
    const member = await addUser(tenantId);
    const target = await addUser(tenantId);
    const other = await createTenant();
    const requests: [string, string, unknown?][] = [
      ["PATCH", userPath(tenantId, target.user.id), { active: false }],
      ["DELETE", userPath(tenantId, target.user.id)],
      ["POST", `${userPath(tenantId, target.user.id)}/password-reset`],
      ["GET", `${userPath(tenantId, target.user.id)}/sessions`],
      ["DELETE", `${userPath(tenantId, target.user.id)}/sessions`],
    ];
    for (const token of [await sessionToken(member), await sessionToken(other.admin)]) {
      for (const [method, path, body] of requests) {
        expectError(await call(method, path, { token, ...(body ? { body } : {}) }), 403, "forbidden");
      }
    }
    expect((await login(target)).status).toBe(200); // nothing happened to the target
  });

  it("answers 404 for a user of another tenant, in the admin's own tenant path", async () => {
    const { tenantId, admin } = await createTenant();
    const stranger = await addUser((await createTenant()).tenantId);
    const token = await sessionToken(admin);
    expectError(
      await call("PATCH", userPath(tenantId, stranger.user.id), { token, body: { active: false } }),
      404,
      "not_found",
    );
    expectError(await call("DELETE", userPath(tenantId, stranger.user.id), { token }), 404, "not_found");
    expect((await login(stranger)).status).toBe(200);
  });
});
