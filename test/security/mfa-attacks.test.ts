// The attacks of security.md that concern the second factor. Each test names the guarantee it checks.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { generateHotp, totpStep } from "../../src/auth/totp";
import { advanceClock, freezeClock, now } from "../../src/clock";
import { decodeBase32 } from "../../src/encoding";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, ORIGIN } from "../helpers/http";
import { enrollMfa, nextStep, STEP_MS, totpCode } from "../helpers/totp";

async function enrolledUser() {
  const { tenantId } = await createTenant();
  return enrollMfa(await addUser(tenantId));
}

async function sessionRows(userId: string): Promise<number> {
  const row = await env.DB.prepare(
    "select count(*) as n from sessions where user_id = ? and kind = 'session'",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("replay", () => {
  it("refuses the same TOTP code twice", async () => {
    const user = await enrolledUser();
    const code = await totpCode(user.secret);
    expect((await login(user, { mfa_code: code })).status).toBe(200);
    expectError(await login(user, { mfa_code: code }), 401, "invalid_mfa_code");
  });

  it("refuses an earlier step after a later one was accepted", async () => {
    const user = await enrolledUser();
    const earlier = await totpCode(user.secret, -1);
    expect((await login(user, { mfa_code: await totpCode(user.secret, 1) })).status).toBe(200);
    expectError(await login(user, { mfa_code: earlier }), 401, "invalid_mfa_code");
    expectError(await login(user, { mfa_code: await totpCode(user.secret) }), 401, "invalid_mfa_code");
  });

  it("refuses a used backup code, and another user's or tenant's code", async () => {
    const user = await enrolledUser();
    const sameTenant = await enrollMfa(await addUser(user.tenantId));
    const otherTenant = await enrolledUser();
    expect((await login(user, { mfa_code: user.backupCodes[0] })).status).toBe(200);
    expectError(await login(user, { mfa_code: user.backupCodes[0] }), 401, "invalid_mfa_code");
    expectError(await login(user, { mfa_code: sameTenant.backupCodes[0] }), 401, "invalid_mfa_code");
    expectError(await login(user, { mfa_code: otherTenant.backupCodes[0] }), 401, "invalid_mfa_code");
    expectError(await login(user, { mfa_code: await totpCode(otherTenant.secret) }), 401, "invalid_mfa_code");
  });
});

describe("time window", () => {
  it.each([
    [-2, false],
    [-1, true],
    [0, true],
    [1, true],
    [2, false],
  ])("accepts a code %i steps away: %s", async (offset, accepted) => {
    const user = await enrolledUser();
    nextStep(); // the step before now must not be the one enrollment already used
    const response = await login(user, { mfa_code: await totpCode(user.secret, offset) });
    if (accepted) expect(response.status).toBe(200);
    else expectError(response, 401, "invalid_mfa_code");
  });

  it("follows step boundaries to the millisecond, on both sides", async () => {
    const past = await enrolledUser();
    const future = await enrollMfa(await addUser(past.tenantId));
    const step = totpStep(now()) + 5;
    const code = (secret: string) => generateHotp(decodeBase32(secret), step);

    freezeClock((step + 2) * STEP_MS); // first millisecond two steps later
    expectError(await login(past, { mfa_code: await code(past.secret) }), 401, "invalid_mfa_code");
    advanceClock(-1); // last millisecond of the next step
    expect((await login(past, { mfa_code: await code(past.secret) })).status).toBe(200);

    freezeClock((step - 1) * STEP_MS - 1); // last millisecond two steps earlier
    expectError(await login(future, { mfa_code: await code(future.secret) }), 401, "invalid_mfa_code");
    advanceClock(1); // first millisecond of the step before
    expect((await login(future, { mfa_code: await code(future.secret) })).status).toBe(200);
  });
});

describe("races", () => {
  it("lets exactly one of 6 concurrent logins with one TOTP code through", async () => {
    const user = await enrolledUser();
    const code = await totpCode(user.secret);
    const before = await sessionRows(user.user.id);
    const results = await Promise.all(Array.from({ length: 6 }, () => login(user, { mfa_code: code })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expectError(r, 401, "invalid_mfa_code");
    expect(await sessionRows(user.user.id)).toBe(before + 1);
  });

  it("lets exactly one of 6 concurrent logins with one backup code through", async () => {
    const user = await enrolledUser();
    const code = user.backupCodes[2];
    const before = await sessionRows(user.user.id);
    const results = await Promise.all(Array.from({ length: 6 }, () => login(user, { mfa_code: code })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionRows(user.user.id)).toBe(before + 1);
    const used = await env.DB.prepare(
      "select count(*) as n from audit_events where target_id = ? and action = 'mfa.backup_code_used'",
    )
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(used?.n).toBe(1);
  });

  it("lets exactly one of 4 concurrent regenerations proven by one backup code through", async () => {
    const user = await enrolledUser();
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        call("POST", "/api/v1/mfa/backup-codes", { token: user.token, body: { code: user.backupCodes[4] } }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const winner = results.find((r) => r.status === 200)?.json.backup_codes as string[];
    // The codes that are active are the winner's, all ten of them.
    nextStep();
    expect((await login(user, { mfa_code: winner[9] })).status).toBe(200);
  });
});

describe("attempt budget", () => {
  it("locks an account after 5 wrong codes, refuses the right code while locked, and unlocks when the lock ends", async () => {
    const user = await enrolledUser();
    for (let i = 0; i < 5; i++)
      expectError(await login(user, { mfa_code: "000000" }), 401, "invalid_mfa_code");
    const locked = await login(user, { mfa_code: await totpCode(user.secret) });
    expectError(locked, 429, "too_many_attempts");
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The wrong code while locked gets exactly the same answer as the right one.
    const lockedWrong = await login(user, { mfa_code: "000000" });
    expect(lockedWrong.text).toBe(locked.text);
    expect((await login(user)).status).toBe(429);
    advanceClock(retryAfter * 1000 + 1000);
    expect((await login(user, { mfa_code: await totpCode(user.secret) })).status).toBe(200);
  });

  it("grows the lockout while failures continue", async () => {
    const user = await enrolledUser();
    const lockOnce = async () => {
      for (let i = 0; i < 5; i++) await login(user, { mfa_code: "000000" });
      const locked = await login(user, { mfa_code: "000000" });
      expect(locked.status).toBe(429);
      return Number(locked.headers.get("retry-after"));
    };
    const first = await lockOnce();
    advanceClock(first * 1000 + 1000);
    const second = await lockOnce();
    expect(second).toBeGreaterThanOrEqual(first * 2 - 2);
  });

  it("evaluates no more wrong codes than the budget when 40 arrive at once", async () => {
    const user = await enrolledUser();
    const results = await Promise.all(Array.from({ length: 40 }, () => login(user, { mfa_code: "000000" })));
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(35);
  });

  it("shares one counter across username case and spacing variants", async () => {
    const user = await enrolledUser();
    const variants = [
      user.username.toUpperCase(),
      ` ${user.username}`,
      `${user.username} `,
      user.username,
      user.username.toUpperCase(),
    ];
    for (const username of variants) await login({ ...user, username }, { mfa_code: "000000" });
    expectError(await login(user, { mfa_code: await totpCode(user.secret) }), 429, "too_many_attempts");
  });

  it("keeps counting wrong codes across client addresses", async () => {
    const user = await enrolledUser();
    for (let i = 0; i < 5; i++) {
      await login(user, { mfa_code: "000000" }, { "cf-connecting-ip": `198.51.100.${i}` });
    }
    const fromNewAddress = await login(
      user,
      { mfa_code: await totpCode(user.secret) },
      { "cf-connecting-ip": "192.0.2.77" },
    );
    expectError(fromNewAddress, 429, "too_many_attempts");
  });

  it("applies the same budget to verify, disable and regenerate", async () => {
    const user = await enrolledUser();
    const token = user.token;
    await call("POST", "/api/v1/mfa/disable", { token, body: { code: "000000" } });
    await call("POST", "/api/v1/mfa/backup-codes", { token, body: { code: "000000" } });
    await call("POST", "/api/v1/mfa/setup", { token, body: { code: "000000" } });
    await login(user, { mfa_code: "000000" });
    await login(user, { mfa_code: "000000" });
    expectError(
      await call("POST", "/api/v1/mfa/disable", { token, body: { code: await totpCode(user.secret) } }),
      429,
      "too_many_attempts",
    );
    const lockout = await env.DB.prepare(
      "select count(*) as n from audit_events where target_id = ? and action = 'mfa.lockout'",
    )
      .bind(user.user.id)
      .first<{ n: number }>();
    expect(lockout?.n).toBe(1);
  });

  it("locks a guessed account and an unknown one the same way", async () => {
    const { tenantId } = await createTenant();
    const real = await addUser(tenantId);
    const ghost = { ...real, username: "nobody-at-all" };
    const answers = async (who: typeof real) => {
      const seen: string[] = [];
      for (let i = 0; i < 11; i++)
        seen.push(String((await login({ ...who, password: "wrong password" })).status));
      return seen;
    };
    const realAnswers = await answers(real);
    expect(await answers(ghost)).toEqual(realAnswers);
    expect(realAnswers.at(-1)).toBe("429");
  });
});

describe("malformed codes", () => {
  it.each([
    ["5 digits", "12345"],
    ["7 digits", "1234567"],
    ["9 digits", "123456789"],
    ["letters", "abcdef"],
    ["Unicode digits", "١٢٣٤٥٦"],
    ["full-width digits", "１２３４５６"],
    ["empty", ""],
    ["only separators", " - - "],
    ["a long string", "1".repeat(64)],
  ])("answers %s with 401 invalid_mfa_code", async (_label, code) => {
    const user = await enrolledUser();
    expectError(await login(user, { mfa_code: code }), 401, "invalid_mfa_code");
  });

  it.each([
    ["null", null],
    ["a number", 123456],
    ["an array", ["123456"]],
    ["an object", { code: "123456" }],
    ["a 100 KB string", "1".repeat(100_000)],
  ])("answers %s with a clean 4xx", async (_label, code) => {
    const user = await enrolledUser();
    const response = await login(user, { mfa_code: code });
    expect([400, 413]).toContain(response.status);
    const verify = await call("POST", "/api/v1/mfa/verify", { token: user.token, body: { code } });
    expect([400, 413]).toContain(verify.status);
  });
});

describe("secrets at rest", () => {
  it("keeps decrypting old secrets after a new key is put first, and seals new ones with it", async () => {
    const user = await enrolledUser();
    const newKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const rotated = { ...env, TOTP_ENCRYPTION_KEYS: `t9:${newKey},${env.TOTP_ENCRYPTION_KEYS}` };
    const body = JSON.stringify({
      username: user.username,
      password: user.password,
      tenant_id: user.tenantId,
      mfa_code: await totpCode(user.secret),
    });
    const request = new Request(`${ORIGIN}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const response = await app.fetch(request, rotated);
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    // A new setup under the rotated keys is sealed with the new key id.
    const setup = await app.fetch(
      new Request(`${ORIGIN}/api/v1/mfa/setup`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ code: user.backupCodes[0] }),
      }),
      rotated,
    );
    expect(setup.status).toBe(200);
    const row = await env.DB.prepare("select totp_secret, totp_pending_secret from users where id = ?")
      .bind(user.user.id)
      .first<{ totp_secret: string; totp_pending_secret: string }>();
    expect(row?.totp_secret.startsWith("t1.")).toBe(true);
    expect(row?.totp_pending_secret.startsWith("t9.")).toBe(true);
  });
});
