import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { TOKEN_LIFETIME_MS } from "../../src/auth/tokens";
import { advanceClock } from "../../src/clock";
import worker from "../../src/index";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";

describe("login", () => {
  it("gives a session token, its expiry and the user for the right password", async () => {
    const { admin } = await createTenant();
    const response = await login(admin);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      token: expect.any(String),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      user: {
        id: admin.user.id,
        username: "admin",
        email: "admin@example.com",
        role: "admin",
        tenant_id: admin.tenantId,
        mfa_enabled: false,
        active: true,
      },
    });
    const hours = (Date.parse(response.json.expires_at) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("accepts the username in any case and with surrounding spaces", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "Alice.Smith" });
    for (const variant of ["alice.smith", "ALICE.SMITH", "  Alice.Smith  "]) {
      const response = await login({ ...user, username: variant });
      expect(response.status).toBe(200);
      expect(response.json.user.id).toBe(user.user.id);
    }
  });

  it("answers a wrong password, an unknown user and an unknown tenant identically", async () => {
    const { admin } = await createTenant();
    const answers = [
      await login({ ...admin, password: "wrong password!" }),
      await login({ ...admin, username: "nobody-here" }),
      await login({ ...admin, tenantId: "no-such-tenant" }),
    ];
    for (const answer of answers) {
      expectError(answer, 401, "invalid_credentials");
    }
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  });

  it("spends one full password hash on unknown users and tenants too, so timing matches a wrong password", async () => {
    const { admin } = await createTenant();
    for (const attempt of [
      { ...admin, password: "wrong password!" },
      { ...admin, username: "nobody-here" },
      { ...admin, tenantId: "no-such-tenant" },
    ]) {
      const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
      await login(attempt);
      expect(deriveBits).toHaveBeenCalledTimes(1);
      expect(deriveBits.mock.calls[0]?.[0]).toMatchObject({ name: "PBKDF2", iterations: 100_000 });
      deriveBits.mockRestore();
    }
  });

  it("keeps one user's password from opening another tenant's user of the same name", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const response = await login({ ...a.admin, tenantId: b.tenantId });
    expectError(response, 401, "invalid_credentials");
  });
});

describe("sessions", () => {
  it("returns the signed-in user from /auth/me", async () => {
    const { admin } = await createTenant();
    const token = await sessionToken(admin);
    const me = await call("GET", "/api/v1/auth/me", { token });
    expect(me.status).toBe(200);
    expect(me.json.user).toMatchObject({ id: admin.user.id, role: "admin", mfa_enabled: false });
    expect(JSON.stringify(me.json)).not.toMatch(/password|pbkdf2|secret/i);
  });

  it("ends the session at logout: the same token is refused at once", async () => {
    const { admin } = await createTenant();
    const token = await sessionToken(admin);
    const other = await sessionToken(admin);
    const logout = await call("POST", "/api/v1/auth/logout", { token });
    expect(logout.status).toBe(204);
    expectError(await call("GET", "/api/v1/auth/me", { token }), 401, "unauthorized");
    expectError(await call("POST", "/api/v1/auth/logout", { token }), 401, "unauthorized");
    // Only that session ended.
    expect((await call("GET", "/api/v1/auth/me", { token: other })).status).toBe(200);
  });

  it("accepts the session from the UI's cookie as well as the bearer header", async () => {
    const { admin } = await createTenant();
    const token = await sessionToken(admin);
    const me = await call("GET", "/api/v1/auth/me", { headers: { cookie: `__Host-session=${token}` } });
    expect(me.status).toBe(200);
    expect(me.json.user.id).toBe(admin.user.id);
  });

  it("refuses requests without a token or with a malformed header", async () => {
    expectError(await call("GET", "/api/v1/auth/me"), 401, "unauthorized");
    for (const authorization of [
      "Bearer",
      "Basic abc",
      "Bearer a b",
      `Bearer ${"x".repeat(5000)}`,
      "Bearer ...",
    ]) {
      expectError(await call("GET", "/api/v1/auth/me", { headers: { authorization } }), 401, "unauthorized");
    }
  });

  it("are deleted by the daily cron once expired, a chunk at a time, while live ones stay", async () => {
    const { admin } = await createTenant();
    await sessionToken(admin);
    // More expired rows than one purge statement takes, from another user of the runtime.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
       INSERT INTO sessions (id, user_id, tenant_id, kind, created_at, expires_at)
       SELECT 'old-' || i, ?, ?, 'session', 0, 1 FROM n`,
    )
      .bind(admin.user.id, admin.tenantId)
      .run();
    advanceClock(TOKEN_LIFETIME_MS.session + 1000);
    const live = await sessionToken(admin);
    await worker.scheduled(createScheduledController({ cron: "0 8 * * *" }), env, createExecutionContext());
    const left = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?")
      .bind(admin.user.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(1);
    expect((await call("GET", "/api/v1/auth/me", { token: live })).status).toBe(200);
  });
});
