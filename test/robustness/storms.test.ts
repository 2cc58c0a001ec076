// Storms against one account: many parallel requests with one code, or with wrong codes. Each test
// would fail without the protection it names: the conditional claim (one winner, one session row)
// or the serialised attempt counter (no more guesses evaluated than the budget allows).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { POLICIES } from "../../src/limiter/policy";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";

async function count(sql: string, ...values: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...values)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const sessionRows = (userId: string) =>
  count("select count(*) as n from sessions where user_id = ? and kind = 'session'", userId);

async function enrolledUser() {
  const { tenantId } = await createTenant();
  return enrollMfa(await addUser(tenantId));
}

const STORM = 50;
// Every login pays one password hash (about 50 ms in the test runtime), so a storm takes seconds.
const STORM_TIMEOUT_MS = 30_000;

describe("a storm of parallel logins with one code", () => {
  it(
    `lets exactly one of ${STORM} parallel logins with one TOTP code through, with one new session`,
    async () => {
      const user = await enrolledUser();
      const code = await totpCode(user.secret);
      const before = await sessionRows(user.user.id);
      const results = await Promise.all(Array.from({ length: STORM }, () => login(user, { mfa_code: code })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) expectError(r, 401, "invalid_mfa_code");
      expect(await sessionRows(user.user.id)).toBe(before + 1);
    },
    STORM_TIMEOUT_MS,
  );

  it(
    `lets exactly one of ${STORM} parallel logins with one backup code through, with one new session`,
    async () => {
      const user = await enrolledUser();
      const code = user.backupCodes[3];
      const before = await sessionRows(user.user.id);
      const results = await Promise.all(Array.from({ length: STORM }, () => login(user, { mfa_code: code })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) expectError(r, 401, "invalid_mfa_code");
      expect(await sessionRows(user.user.id)).toBe(before + 1);
      const uses = await count(
        "select count(*) as n from audit_events where target_id = ? and action = 'mfa.backup_code_used'",
        user.user.id,
      );
      expect(uses).toBe(1);
      const unused = await count(
        "select count(*) as n from backup_codes where user_id = ? and status = 'active' and used_at is null",
        user.user.id,
      );
      expect(unused).toBe(user.backupCodes.length - 1);
    },
    STORM_TIMEOUT_MS,
  );
});

describe("a storm of wrong codes against one account", () => {
  const budget = POLICIES.mfa.limit;

  /** `n` distinct six-digit codes, none of them valid now (the window is one step either side). */
  async function wrongCodes(secret: string, n: number): Promise<string[]> {
    const valid = new Set(await Promise.all([-1, 0, 1].map((offset) => totpCode(secret, offset))));
    const codes: string[] = [];
    for (let i = 0; codes.length < n; i++) {
      const code = String(100000 + i * 7919);
      if (!valid.has(code)) codes.push(code);
    }
    return codes;
  }

  function expectBudgetHeld(results: { status: number; headers: Headers; json: unknown }[]) {
    const evaluated = results.filter((r) => r.status === 401);
    const refused = results.filter((r) => r.status === 429);
    expect(evaluated).toHaveLength(budget);
    for (const r of evaluated) expectError(r, 401, "invalid_mfa_code");
    expect(refused).toHaveLength(results.length - budget);
    for (const r of refused) {
      expectError(r, 429, "too_many_attempts");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  }

  async function lockouts(userId: string) {
    return count(
      "select count(*) as n from audit_events where target_id = ? and action = 'mfa.lockout'",
      userId,
    );
  }

  it(
    `evaluates exactly the budget (${budget}) of 40 parallel wrong codes at login; the rest get 429`,
    async () => {
      const user = await enrolledUser();
      const codes = await wrongCodes(user.secret, 40);
      const results = await Promise.all(codes.map((code) => login(user, { mfa_code: code })));
      expectBudgetHeld(results);
      // While locked the right code gets the same refusal, and the lockout was audited once.
      expectError(await login(user, { mfa_code: await totpCode(user.secret) }), 429, "too_many_attempts");
      expect(await lockouts(user.user.id)).toBe(1);
    },
    STORM_TIMEOUT_MS,
  );

  it(
    `evaluates exactly the budget (${budget}) of 200 parallel wrong codes spread over login, disable and regenerate`,
    async () => {
      const user = await enrolledUser();
      const codes = await wrongCodes(user.secret, 200);
      // Login pays a password hash before its code is counted; the other two do not. All three
      // draw on the one MFA budget of the account.
      const results = await Promise.all(
        codes.map((code, i) => {
          if (i % 10 === 0) return login(user, { mfa_code: code });
          const path = i % 2 === 0 ? "/api/v1/mfa/disable" : "/api/v1/mfa/backup-codes";
          return call("POST", path, { token: user.token, body: { code } });
        }),
      );
      expectBudgetHeld(results);
      expect(await lockouts(user.user.id)).toBe(1);
      // Nothing was changed by any of them: MFA is still on, with all ten backup codes.
      const unused = await count(
        "select count(*) as n from backup_codes where user_id = ? and status = 'active' and used_at is null",
        user.user.id,
      );
      expect(unused).toBe(user.backupCodes.length);
    },
    STORM_TIMEOUT_MS,
  );
});
