// Faults: a D1 round trip that fails (before it runs, or in the middle of a batch, after some of its
// statements ran) and attempt-counter objects that cannot be reached. The answer is always
// `503 unavailable`; storage is left exactly as it was, and the same request succeeds once storage
// answers again. The D1 faults come from a wrapper around the real database (test/robustness/bindings.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addUser, createTenant, type TestUser } from "../helpers/factory";
import { call, sessionToken } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";
import { apiRequest, type D1Fault, type D1Trip, instrumentedEnv, readJson } from "./bindings";

const FAULT_TIMEOUT_MS = 30_000;

/** Everything a user's MFA change can touch, read from the real database. */
async function snapshot(userId: string, tenantId: string) {
  const rows = async (sql: string, ...values: unknown[]) =>
    (
      await env.DB.prepare(sql)
        .bind(...values)
        .all()
    ).results;
  return {
    user: await rows("select * from users where id = ?", userId),
    backupCodes: await rows("select * from backup_codes where user_id = ? order by code_hash", userId),
    sessions: await rows("select * from sessions where user_id = ? order by id", userId),
    audit: await rows(
      "select action, actor_id, target_id from audit_events where target_id = ? order by id",
      userId,
    ),
    tenant: await rows("select user_count, enrolled_count from tenants where id = ?", tenantId),
  };
}

/** Every way to break one request: each round trip failing outright, and each batch failing after each of its statements. */
function faultPlans(trips: D1Trip[]): { at: number; fault: D1Fault; label: string }[] {
  return trips.flatMap((trip, i) => [
    { at: i + 1, fault: { kind: "fail" } as D1Fault, label: `round trip ${i + 1} fails` },
    ...(trip.kind === "batch"
      ? trip.sql.map((_, p) => ({
          at: i + 1,
          fault: { kind: "failInsideBatch", position: p + 1 } as D1Fault,
          label: `batch ${i + 1} fails after statement ${p + 1} of ${trip.sql.length}`,
        }))
      : []),
  ]);
}

interface Scenario {
  /** A fresh account ready for the request; `request` makes the request (the same one each time). */
  prepare(): Promise<{ userId: string; tenantId: string; request: () => Promise<Request> }>;
  /** The status of the request when storage answers. */
  okStatus: number;
}

/**
 * Runs the request once cleanly to learn its round trips, then once per fault plan on a fresh
 * account: 503 unavailable, nothing changed, and the same request succeeds afterwards.
 */
async function expectAtomicUnderFaults(scenario: Scenario) {
  const clean = await scenario.prepare();
  const counted = instrumentedEnv();
  const first = await readJson(await counted.fetch(await clean.request()));
  expect(first.status).toBe(scenario.okStatus);
  const plans = faultPlans(counted.trips);
  expect(plans.length).toBeGreaterThan(1);

  for (const plan of plans) {
    const { userId, tenantId, request } = await scenario.prepare();
    const before = await snapshot(userId, tenantId);
    const faulty = instrumentedEnv({ faultAt: (_, index) => (index === plan.at ? plan.fault : undefined) });
    const answer = await readJson(await faulty.fetch(await request()));
    expect({ plan: plan.label, status: answer.status, body: answer.json }).toEqual({
      plan: plan.label,
      status: 503,
      body: { error: { code: "unavailable", message: expect.any(String) } },
    });
    expect({ plan: plan.label, state: await snapshot(userId, tenantId) }).toEqual({
      plan: plan.label,
      state: before,
    });
    // Nothing half-written stands in the way: the same request goes through once storage answers.
    const retry = await readJson(await instrumentedEnv().fetch(await request()));
    expect({ plan: plan.label, status: retry.status }).toEqual({
      plan: plan.label,
      status: scenario.okStatus,
    });
  }
  return plans.length;
}

async function freshUser(): Promise<TestUser> {
  const { tenantId } = await createTenant();
  return addUser(tenantId);
}

const loginRequest = (user: TestUser, mfaCode?: string) =>
  apiRequest("POST", "/api/v1/auth/login", {
    body: {
      username: user.username,
      password: user.password,
      tenant_id: user.tenantId,
      ...(mfaCode ? { mfa_code: mfaCode } : {}),
    },
  });

describe("a D1 failure in the middle of an MFA change leaves nothing half-written", () => {
  it(
    "enabling MFA (verify)",
    async () => {
      const plans = await expectAtomicUnderFaults({
        okStatus: 200,
        async prepare() {
          const user = await freshUser();
          const token = await sessionToken(user);
          const setup = await call("POST", "/api/v1/mfa/setup", { token });
          expect(setup.status).toBe(200);
          const secret = setup.json.secret as string;
          return {
            userId: user.user.id,
            tenantId: user.tenantId,
            request: async () =>
              apiRequest("POST", "/api/v1/mfa/verify", { token, body: { code: await totpCode(secret) } }),
          };
        },
      });
      expect(plans).toBeGreaterThanOrEqual(6);
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    "an admin's MFA reset",
    async () => {
      const { tenantId, admin } = await createTenant();
      const adminToken = await sessionToken(admin);
      await expectAtomicUnderFaults({
        okStatus: 200,
        async prepare() {
          const user = await enrollMfa(await addUser(tenantId));
          return {
            userId: user.user.id,
            tenantId,
            request: async () =>
              apiRequest("POST", `/api/v1/tenants/${tenantId}/users/${user.user.id}/reset-mfa`, {
                token: adminToken,
              }),
          };
        },
      });
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    "consuming a backup code at login",
    async () => {
      await expectAtomicUnderFaults({
        okStatus: 200,
        async prepare() {
          const user = await enrollMfa(await freshUser());
          return {
            userId: user.user.id,
            tenantId: user.tenantId,
            request: async () => loginRequest(user, user.backupCodes[0]),
          };
        },
      });
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    "consuming a backup code to regenerate the backup codes",
    async () => {
      await expectAtomicUnderFaults({
        okStatus: 200,
        async prepare() {
          const user = await enrollMfa(await freshUser());
          return {
            userId: user.user.id,
            tenantId: user.tenantId,
            request: async () =>
              apiRequest("POST", "/api/v1/mfa/backup-codes", {
                token: user.token,
                body: { code: user.backupCodes[1] },
              }),
          };
        },
      });
    },
    FAULT_TIMEOUT_MS,
  );
});

describe("an attempt counter that cannot be reached makes sign-in fail closed", () => {
  const unreachable = (which: "account" | "ip" | "all") =>
    instrumentedEnv(
      {},
      { fail: (c) => which === "all" || c.object.startsWith(which === "account" ? "account:" : "ip:") },
    );

  async function expectUnavailable(response: Response) {
    const answer = await readJson(response);
    expect(answer).toEqual({
      status: 503,
      json: { error: { code: "unavailable", message: expect.any(String) } },
    });
  }

  const sessionCount = async (userId: string) =>
    (
      await env.DB.prepare("select count(*) as n from sessions where user_id = ?")
        .bind(userId)
        .first<{ n: number }>()
    )?.n ?? 0;

  it.each(["all", "account", "ip"] as const)(
    "refuses a correct password with 503 and opens no session (unreachable: %s)",
    async (which) => {
      const user = await freshUser();
      const broken = unreachable(which);
      await expectUnavailable(await broken.fetch(loginRequest(user)));
      expect(broken.calls.length).toBeGreaterThan(0);
      expect(await sessionCount(user.user.id)).toBe(0);
    },
  );

  it("refuses a correct TOTP code with 503, opens no session and leaves the code unclaimed", async () => {
    const user = await enrollMfa(await freshUser());
    const code = await totpCode(user.secret);
    const sessions = await sessionCount(user.user.id);
    await expectUnavailable(await unreachable("all").fetch(loginRequest(user, code)));
    expect(await sessionCount(user.user.id)).toBe(sessions);
    // The code was not used up by the refused attempt.
    expect((await readJson(await instrumentedEnv().fetch(loginRequest(user, code)))).status).toBe(200);
  });

  it("refuses a wrong password with 503 too, so an outage never tells a guess apart", async () => {
    const user = await freshUser();
    await expectUnavailable(
      await unreachable("all").fetch(loginRequest({ ...user, password: `${user.password}-wrong` })),
    );
  });

  it("refuses disabling MFA with a correct code with 503, and MFA stays on", async () => {
    const user = await enrollMfa(await freshUser());
    const request = apiRequest("POST", "/api/v1/mfa/disable", {
      token: user.token,
      body: { code: await totpCode(user.secret) },
    });
    await expectUnavailable(await unreachable("account").fetch(request));
    const row = await env.DB.prepare("select mfa_enabled_at from users where id = ?")
      .bind(user.user.id)
      .first<{ mfa_enabled_at: number | null }>();
    expect(row?.mfa_enabled_at).not.toBeNull();
  });
});
