// The operator's break-glass MFA reset (npm run admin -- reset-mfa): the admin reset itself, run by
// the Worker on the operator's one-time grant. test/browser/operator-cli.test.ts runs the CLI.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newOperatorGrant, OPERATOR_GRANT_LIFETIME_MS } from "../../src/admin/operator-grants";
import { app } from "../../src/app";
import { advanceClock } from "../../src/clock";
import { operatorGrants } from "../../src/db/schema";
import { POLICIES } from "../../src/limiter/policy";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, expectError, login, ORIGIN, sessionToken } from "../helpers/http";
import { recordingQueue } from "../helpers/recording";
import { enrollMfa, totpCode } from "../helpers/totp";

const DAY = 24 * 60 * 60 * 1000;

async function grant(tenantId: string, username: string, action: "reset-mfa" = "reset-mfa") {
  const { token, row } = await newOperatorGrant(action, tenantId, username);
  await db.insert(operatorGrants).values(row);
  return token;
}

function operatorReset(token: string, body: { tenant_id: string; username: string }, bindings: Env = env) {
  return app.fetch(
    new Request(`${ORIGIN}/api/v1/operator/reset-mfa`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    bindings,
  );
}

describe("the operator's MFA reset", () => {
  it("is the admin's reset: no fresh grace, counters cleared, sessions ended, the user emailed and the trail written", async () => {
    const { tenantId, admin: plainAdmin } = await createTenant();
    const admin = await enrollMfa(plainAdmin);
    const adminToken = (await login(admin, { mfa_code: await totpCode(admin.secret) })).json.token;
    await call("PATCH", `/api/v1/tenants/${tenantId}/settings`, {
      token: adminToken,
      body: { mfa_required: true, mfa_grace_period_days: 14 },
    });
    advanceClock(DAY);
    // The last admin lost their device and spent the code budget trying.
    for (let i = 0; i < POLICIES.mfa.limit; i++) await login(admin, { mfa_code: "000000" });
    expectError(await login(admin, { mfa_code: "000000" }), 429, "too_many_attempts");

    const { sent, binding } = recordingQueue();
    const response = await operatorReset(
      await grant(tenantId, admin.username),
      { tenant_id: tenantId, username: admin.username },
      { ...env, EMAIL_QUEUE: binding },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: { mfa_enabled: boolean } }).user.mfa_enabled).toBe(false);

    // Signs in at once, and must enroll now: a reset under enforcement never reopens a grace period.
    const after = await login(admin);
    expect(after.json.mfa_enrollment_required).toBe(true);
    expectError(await call("GET", "/api/v1/auth/me", { token: adminToken }), 401, "unauthorized");
    const audit = await env.DB.prepare(
      "select actor_id, details from audit_events where action = 'mfa.reset' and target_id = ?",
    )
      .bind(admin.user.id)
      .first<{ actor_id: string | null; details: string }>();
    expect(audit?.actor_id).toBeNull();
    expect(JSON.parse(audit?.details ?? "{}")).toMatchObject({ by: "operator", had_mfa: true });
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ kind: "security", event: "mfa_reset", userId: admin.user.id });
  });

  it("needs a grant, which works once, for its own tenant and user, for two minutes", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const other = await addUser(tenantId);
    const body = { tenant_id: tenantId, username: user.username };

    expect((await operatorReset("not-a-grant", body)).status).toBe(401);
    expect((await operatorReset(await sessionToken(other), body)).status).toBe(401);
    expect((await operatorReset(await grant(tenantId, other.username), body)).status).toBe(401);
    expect((await operatorReset(await grant("another-tenant", user.username), body)).status).toBe(401);
    const late = await grant(tenantId, user.username);
    advanceClock(OPERATOR_GRANT_LIFETIME_MS + 1000);
    expect((await operatorReset(late, body)).status).toBe(401);

    // A CLI whose clock runs ahead cannot stretch a grant's life.
    const { token: ahead, row } = await newOperatorGrant("reset-mfa", tenantId, user.username);
    await db.insert(operatorGrants).values({ ...row, expiresAt: row.expiresAt + 60 * 60_000 });
    expect((await operatorReset(ahead, body)).status).toBe(401);

    const token = await grant(tenantId, user.username.toUpperCase()); // usernames fold case
    expect((await operatorReset(token, body)).status).toBe(200);
    expect((await operatorReset(token, body)).status).toBe(401);
  });

  it("answers 404 for a user that does not exist, and spends the grant", async () => {
    const { tenantId } = await createTenant();
    const token = await grant(tenantId, "nobody");
    expectError(
      { ...(await readResponse(await operatorReset(token, { tenant_id: tenantId, username: "nobody" }))) },
      404,
      "not_found",
    );
    expect((await operatorReset(token, { tenant_id: tenantId, username: "nobody" })).status).toBe(401);
  });
});

async function readResponse(response: Response) {
  return { status: response.status, json: await response.json() };
}
