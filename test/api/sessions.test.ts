// A user's sessions: what is recorded about each, the list, and ending them (the owner and an admin).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SESSION_TOUCH_MS } from "../../src/auth/sessions";
import { advanceClock } from "../../src/clock";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa } from "../helpers/totp";

const CLIENT = { "cf-connecting-ip": "198.51.100.23", "user-agent": "Firefox/140.0 (test)" };

async function signInFrom(user: Parameters<typeof login>[0], headers = CLIENT): Promise<string> {
  const response = await login(user, {}, headers);
  expect(response.status).toBe(200);
  return response.json.token;
}

async function lastUsed(token: string): Promise<number> {
  const { sessions } = (await call("GET", "/api/v1/auth/sessions", { token })).json;
  return Date.parse(sessions.find((s: { current: boolean }) => s.current).last_used_at);
}

describe("the list of one's sessions", () => {
  it("shows each live session with its start, last use, address and client, marking the current one", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const first = await signInFrom(user);
    const second = await signInFrom(user, { "cf-connecting-ip": "203.0.113.5", "user-agent": "curl/8.0" });
    const response = await call("GET", "/api/v1/auth/sessions", { token: first });
    expect(response.status).toBe(200);
    expect(response.json.sessions).toHaveLength(2);
    const current = response.json.sessions.find((s: { current: boolean }) => s.current);
    expect(current).toEqual({
      id: expect.any(String),
      created_at: expect.any(String),
      last_used_at: expect.any(String),
      ip: "198.51.100.23",
      user_agent: "Firefox/140.0 (test)",
      current: true,
    });
    expect(response.json.sessions).toContainEqual(
      expect.objectContaining({ ip: "203.0.113.5", user_agent: "curl/8.0", current: false }),
    );
    expect(JSON.stringify(response.json)).not.toContain(second); // never a token
  });

  it("leaves out a pending second step and ended sessions", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    expect((await login(user)).json.mfa_required).toBe(true); // a pending sign-in row
    const ended = (await call("GET", "/api/v1/auth/sessions", { token: user.token })).json.sessions;
    expect(ended).toHaveLength(1);
    expect(ended[0].current).toBe(true);
  });

  it("records the last use at most once per five minutes", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await signInFrom(user);
    const started = await lastUsed(token);
    advanceClock(SESSION_TOUCH_MS / 2);
    await call("GET", "/api/v1/auth/me", { token });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await lastUsed(token)).toBe(started);
    advanceClock(SESSION_TOUCH_MS);
    await call("GET", "/api/v1/auth/me", { token });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await lastUsed(token)).toBeGreaterThanOrEqual(started + SESSION_TOUCH_MS);
  });
});

describe("ending sessions", () => {
  it("ends one of one's own sessions, and no one else's", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const stranger = await addUser(tenantId);
    const kept = await signInFrom(user);
    const lost = await signInFrom(user);
    const strangerToken = await signInFrom(stranger);
    const sessions = (await call("GET", "/api/v1/auth/sessions", { token: kept })).json.sessions;
    const target = sessions.find((s: { current: boolean }) => !s.current).id;
    const theirs = (await call("GET", "/api/v1/auth/sessions", { token: strangerToken })).json.sessions[0].id;

    expectError(await call("DELETE", `/api/v1/auth/sessions/${theirs}`, { token: kept }), 404, "not_found");
    expect((await call("GET", "/api/v1/auth/me", { token: strangerToken })).status).toBe(200);
    expect((await call("DELETE", `/api/v1/auth/sessions/${target}`, { token: kept })).status).toBe(204);
    expectError(await call("GET", "/api/v1/auth/me", { token: lost }), 401, "unauthorized");
    expect((await call("GET", "/api/v1/auth/me", { token: kept })).status).toBe(200);
    expectError(await call("DELETE", `/api/v1/auth/sessions/${target}`, { token: kept }), 404, "not_found");
    const audit = await env.DB.prepare(
      "select count(*) as n from audit_events where action = 'session.ended' and actor_id = ?",
    )
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });

  it("ends every other session, pending second steps too, and keeps this one", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const pending = (await login(user)).json.mfa_token;
    const response = await call("DELETE", "/api/v1/auth/sessions", { token: user.token });
    expect(response.status).toBe(204);
    expect((await call("GET", "/api/v1/auth/me", { token: user.token })).status).toBe(200);
    const second = await call("POST", "/api/v1/auth/login", {
      body: { tenant_id: tenantId, username: user.username, mfa_token: pending, mfa_code: "123456" },
    });
    expectError(second, 401, "invalid_mfa_token");
  });

  it("lets an admin see and end a user's sessions, audited", async () => {
    const { tenantId, admin } = await createTenant();
    const adminToken = await sessionToken(admin);
    const user = await addUser(tenantId);
    const tokens = [await signInFrom(user), await signInFrom(user)];
    const path = `/api/v1/tenants/${tenantId}/users/${user.user.id}/sessions`;
    const listed = await call("GET", path, { token: adminToken });
    expect(listed.status).toBe(200);
    expect(listed.json.sessions).toHaveLength(2);
    expect(listed.json.sessions.every((s: { current: boolean }) => !s.current)).toBe(true);
    expect((await call("DELETE", path, { token: adminToken })).status).toBe(204);
    for (const token of tokens)
      expectError(await call("GET", "/api/v1/auth/me", { token }), 401, "unauthorized");
    expect((await call("GET", path, { token: adminToken })).json.sessions).toEqual([]);
    expect((await call("GET", "/api/v1/auth/me", { token: adminToken })).status).toBe(200);
    const audit = await env.DB.prepare(
      "select actor_id from audit_events where action = 'sessions.ended' and target_id = ?",
    )
      .bind(user.user.id)
      .first<{ actor_id: string }>();
    expect(audit?.actor_id).toBe(admin.user.id);
  });
});
