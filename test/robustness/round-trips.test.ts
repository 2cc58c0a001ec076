// Storage round trips per request, counted on the real bindings (issue 6): a login costs at most
// 2 D1 round trips and 2 Durable Object calls, with or without a second factor; an authenticated
// request costs at most 1 D1 round trip. `npm run bench` reads the counts from this file's test
// metadata (vitest's JSON reporter), so the figures it prints are these, not estimates.
import { describe, expect, it } from "vitest";
import { addUser, createTenant } from "../helpers/factory";
import { sessionToken } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";
import { apiRequest, instrumentedEnv, readJson } from "./bindings";

interface RoundTrips {
  d1: number;
  d1Batches: number;
  d1Statements: number;
  durableObjectCalls: number;
  status: number;
}

declare module "vitest" {
  interface TaskMeta {
    roundTrips?: RoundTrips;
  }
}

/** Runs one request through the app with counting bindings and returns what it cost. */
async function measure(request: Request): Promise<RoundTrips> {
  const counted = instrumentedEnv();
  const { status } = await readJson(await counted.fetch(request));
  return {
    d1: counted.trips.length,
    d1Batches: counted.trips.filter((t) => t.kind === "batch").length,
    d1Statements: counted.trips.reduce((n, t) => n + t.sql.length, 0),
    durableObjectCalls: counted.calls.length,
    status,
  };
}

const login = (user: { username: string; password: string; tenantId: string }, mfaCode?: string) =>
  apiRequest("POST", "/api/v1/auth/login", {
    body: {
      username: user.username,
      password: user.password,
      tenant_id: user.tenantId,
      ...(mfaCode ? { mfa_code: mfaCode } : {}),
    },
  });

describe("storage round trips per request", () => {
  it("login without MFA: at most 2 D1 round trips and 2 Durable Object calls", async ({ task }) => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const cost = await measure(login(user));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(2);
    expect(cost.durableObjectCalls).toBeLessThanOrEqual(2);
  });

  it("login with a TOTP code: at most 2 D1 round trips and 2 Durable Object calls", async ({ task }) => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const cost = await measure(login(user, await totpCode(user.secret)));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(2);
    expect(cost.durableObjectCalls).toBeLessThanOrEqual(2);
  });

  it("login with a backup code: at most 2 D1 round trips and 2 Durable Object calls", async ({ task }) => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const cost = await measure(login(user, user.backupCodes[0]));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(2);
    expect(cost.durableObjectCalls).toBeLessThanOrEqual(2);
  });

  it("login that asks for the second factor: at most 2 D1 round trips and 2 Durable Object calls", async ({
    task,
  }) => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const cost = await measure(login(user));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(2);
    expect(cost.durableObjectCalls).toBeLessThanOrEqual(2);
  });

  it("the second step with an mfa_token: at most 2 D1 round trips and 1 Durable Object call", async ({
    task,
  }) => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const first = await readJson(await instrumentedEnv().fetch(login(user)));
    const cost = await measure(
      apiRequest("POST", "/api/v1/auth/login", {
        body: {
          username: user.username,
          tenant_id: user.tenantId,
          mfa_token: first.json.mfa_token,
          mfa_code: await totpCode(user.secret),
        },
      }),
    );
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(2);
    // No password in it, so the address's password budget has nothing to count.
    expect(cost.durableObjectCalls).toBe(1);
  });

  it("login with a wrong password: at most 2 D1 round trips and 2 Durable Object calls", async ({ task }) => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const cost = await measure(login({ ...user, password: `${user.password}-wrong` }));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(401);
    expect(cost.d1).toBeLessThanOrEqual(2);
    expect(cost.durableObjectCalls).toBeLessThanOrEqual(2);
  });

  it("authenticated GET /auth/me: at most 1 D1 round trip and no Durable Object call", async ({ task }) => {
    const { tenantId } = await createTenant();
    const token = await sessionToken(await addUser(tenantId));
    const cost = await measure(apiRequest("GET", "/api/v1/auth/me", { token }));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(1);
    expect(cost.durableObjectCalls).toBe(0);
  });

  it("GET /health: 1 D1 round trip", async ({ task }) => {
    const cost = await measure(apiRequest("GET", "/api/v1/health"));
    task.meta.roundTrips = cost;
    expect(cost.status).toBe(200);
    expect(cost.d1).toBe(1);
    expect(cost.durableObjectCalls).toBe(0);
  });

  it("the admin dashboard GET /tenants/{id}/mfa/status: a fixed number of round trips", async ({ task }) => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const cost = await measure(apiRequest("GET", `/api/v1/tenants/${tenantId}/mfa/status`, { token }));
    task.meta.roundTrips = cost;
    // Session (1), one indexed page, and the count by factor over the enrolled users; the totals
    // come with the tenant row, counted by triggers.
    expect(cost.status).toBe(200);
    expect(cost.d1).toBeLessThanOrEqual(3);
    expect(cost.durableObjectCalls).toBe(0);
  });
});
