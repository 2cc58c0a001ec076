// Two requests interleaved at the worst moment, forced by holding one request's D1 round trip until
// the other has committed (test/robustness/bindings.ts, beforeTrip). Security.md, attack 22: no
// session may keep less strength than the account has by the time it is written.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addUser, createTenant } from "../helpers/factory";
import { call, sessionToken } from "../helpers/http";
import { totpCode } from "../helpers/totp";
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
