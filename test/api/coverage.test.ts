// MFA coverage over time: the daily cron records each tenant's totals once a day, and admins read
// them back as GET /tenants/{id}/mfa/history.
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../src/clock";
import worker from "../../src/index";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";

const DAY = 24 * 60 * 60 * 1000;

function runDailyCron() {
  return worker.scheduled(createScheduledController({ cron: "0 8 * * *" }), env, createExecutionContext());
}

async function adminToken(admin: Awaited<ReturnType<typeof enrollMfa>>) {
  const first = await login(admin);
  const second = await login(admin, { mfa_code: await totpCode(admin.secret) });
  expect(first.json.mfa_required).toBe(true);
  return second.json.token as string;
}

describe("MFA coverage history", () => {
  it("records a row a day per tenant, counted as the dashboard counts, and a second run rewrites the day", async () => {
    const { tenantId, admin } = await createTenant();
    const enrolledAdmin = await enrollMfa(admin);
    const member = await addUser(tenantId, { username: "mo" });
    await addUser(tenantId, { username: "ned" });
    const history = `/api/v1/tenants/${tenantId}/mfa/history`;

    await runDailyCron();
    let token = enrolledAdmin.token;
    const first = await call("GET", history, { token });
    expect(first.status).toBe(200);
    expect(first.json.days).toEqual([
      { date: expect.any(String), total_users: 3, enrolled_users: 1, blocked: 0, in_grace: 0 },
    ]);

    // Members see none of it.
    expectError(await call("GET", history, { token: await sessionToken(member) }), 403, "forbidden");

    // Enforcement with no grace: the two users without MFA are blocked at sign-in from now on.
    const settings = await call("PATCH", `/api/v1/tenants/${tenantId}/settings`, {
      token,
      body: { mfa_required: true, mfa_grace_period_days: 0 },
    });
    expect(settings.status).toBe(200);
    advanceClock(DAY);
    await runDailyCron();
    await runDailyCron(); // the same day again: one row, rewritten
    token = await adminToken(enrolledAdmin);
    const second = await call("GET", history, { token });
    expect(second.json.days.map((d: { blocked: number }) => d.blocked)).toEqual([0, 2]);
    expect(second.json.days[0].date < second.json.days[1].date).toBe(true);
    expect((await call("GET", `${history}?days=1`, { token })).json.days).toHaveLength(1);
  });

  it("refuses a days value out of range", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    expectError(
      await call("GET", `/api/v1/tenants/${tenantId}/mfa/history?days=0`, { token }),
      400,
      "invalid_request",
    );
    expectError(
      await call("GET", `/api/v1/tenants/${tenantId}/mfa/history?days=400`, { token }),
      400,
      "invalid_request",
    );
  });
});
