import { env } from "cloudflare:workers";
import { decode } from "fast-png";
import jsQR from "jsqr";
import { describe, expect, it } from "vitest";
import { prepareSession } from "../../src/auth/sessions";
import { sessions } from "../../src/db/schema";
import { fromBase64 } from "../../src/encoding";
import { addUser, config, createTenant, db, TEST_CLIENT } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa, nextStep, totpCode } from "../helpers/totp";

const setupPath = "/api/v1/mfa/setup";
const verifyPath = "/api/v1/mfa/verify";

async function newUser() {
  const { tenantId } = await createTenant();
  return addUser(tenantId);
}

function decodeQr(dataUri: string): string | undefined {
  const png = decode(fromBase64(dataUri.replace("data:image/png;base64,", "")));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++) {
    const v = png.data[i * png.channels] ?? 0;
    rgba.set([v, v, v, 255], i * 4);
  }
  return jsQR(rgba, png.width, png.height)?.data;
}

describe("setup", () => {
  it("returns a 160-bit base32 secret, an otpauth URI naming product and tenant, its QR code and 10 backup codes", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "carol" });
    const token = await sessionToken(user);
    const setup = await call("POST", setupPath, { token });
    expect(setup.status).toBe(200);
    const { secret, otpauth_uri, qr_code, backup_codes } = setup.json;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const issuer = encodeURIComponent(`Infracast (Tenant ${tenantId})`);
    expect(otpauth_uri).toBe(
      `otpauth://totp/${issuer}:carol?secret=${secret}&issuer=${issuer}&algorithm=SHA1&digits=6&period=30`,
    );
    expect(qr_code).toMatch(/^data:image\/png;base64,/);
    expect(decodeQr(qr_code)).toBe(otpauth_uri);
    expect(backup_codes).toHaveLength(10);
    for (const code of backup_codes) expect(code).toMatch(/^\d{8}$/);
    expect(setup.headers.get("cache-control")).toBe("no-store");
  });

  it("enables nothing until verify", async () => {
    const user = await newUser();
    const token = await sessionToken(user);
    const setup = await call("POST", setupPath, { token });
    const status = await call("GET", "/api/v1/mfa/status", { token });
    expect(status.json.mfa_enabled).toBe(false);
    // Login still needs no code, and the pending backup codes open nothing.
    expect((await login(user)).json.token).toBeTypeOf("string");
    const viaBackup = await login(user, { mfa_code: setup.json.backup_codes[0] });
    expect(viaBackup.status).toBe(200);
    expect(viaBackup.json.user.mfa_enabled).toBe(false);
  });

  it("replaces a pending setup: the earlier secret never verifies", async () => {
    const user = await newUser();
    const token = await sessionToken(user);
    const first = await call("POST", setupPath, { token });
    const second = await call("POST", setupPath, { token });
    expect(second.json.secret).not.toBe(first.json.secret);
    expectError(
      await call("POST", verifyPath, { token, body: { code: await totpCode(first.json.secret) } }),
      401,
      "invalid_mfa_code",
    );
    const ok = await call("POST", verifyPath, { token, body: { code: await totpCode(second.json.secret) } });
    expect(ok.status).toBe(200);
  });

  it("never stores the secret or backup codes in clear", async () => {
    const user = await newUser();
    const enrolled = await enrollMfa(user);
    const dump = JSON.stringify([
      (await env.DB.prepare("select * from users where id = ?").bind(user.user.id).all()).results,
      (await env.DB.prepare("select * from backup_codes where user_id = ?").bind(user.user.id).all()).results,
    ]);
    expect(dump).not.toContain(enrolled.secret);
    for (const code of enrolled.backupCodes) expect(dump).not.toContain(code);
  });
});

describe("verify", () => {
  it("turns MFA on and keeps the session that verified", async () => {
    const user = await newUser();
    const token = await sessionToken(user);
    const setup = await call("POST", setupPath, { token });
    const verify = await call("POST", verifyPath, {
      token,
      body: { code: await totpCode(setup.json.secret) },
    });
    expect(verify.status).toBe(200);
    expect(verify.json).toEqual({ mfa_enabled: true });
    const status = await call("GET", "/api/v1/mfa/status", { token });
    expect(status.json).toMatchObject({
      mfa_enabled: true,
      backup_codes_remaining: 10,
      enforcement: { required: false },
    });
    expect(Date.parse(status.json.enabled_at)).toBeGreaterThan(0);
  });

  it("answers 409 no_pending_setup without a setup, and 401 for a wrong code", async () => {
    const user = await newUser();
    const token = await sessionToken(user);
    expectError(await call("POST", verifyPath, { token, body: { code: "123456" } }), 409, "no_pending_setup");
    const setup = await call("POST", setupPath, { token });
    const wrong = (Number(await totpCode(setup.json.secret)) + 1) % 1_000_000;
    expectError(
      await call("POST", verifyPath, { token, body: { code: String(wrong).padStart(6, "0") } }),
      401,
      "invalid_mfa_code",
    );
  });
});

describe("two-step login", () => {
  it("asks for the second factor, then opens a session with a TOTP code", async () => {
    const user = await enrollMfa(await newUser());
    const first = await login(user);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      mfa_required: true,
      user: expect.objectContaining({ id: user.user.id, mfa_enabled: true }),
      mfa_token: expect.any(String),
      mfa_token_expires_at: expect.any(String),
      factors: ["totp"],
    });
    expect(first.json.token).toBeUndefined();
    const second = await login(user, { mfa_code: await totpCode(user.secret) });
    expect(second.status).toBe(200);
    expect(second.json.token).toBeTypeOf("string");
    expect((await call("GET", "/api/v1/auth/me", { token: second.json.token })).status).toBe(200);
  });

  it("accepts a backup code once, with spaces and dashes ignored", async () => {
    const user = await enrollMfa(await newUser());
    const code = user.backupCodes[3] as string;
    const spaced = `${code.slice(0, 4)} - ${code.slice(4)}`;
    const ok = await login(user, { mfa_code: spaced });
    expect(ok.status).toBe(200);
    expectError(await login(user, { mfa_code: code }), 401, "invalid_mfa_code");
    const status = await call("GET", "/api/v1/mfa/status", { token: ok.json.token });
    expect(status.json.backup_codes_remaining).toBe(9);
  });

  it("answers a wrong code with 401 invalid_mfa_code", async () => {
    const user = await enrollMfa(await newUser());
    const right = await totpCode(user.secret);
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, "0");
    expectError(await login(user, { mfa_code: wrong }), 401, "invalid_mfa_code");
    expectError(await login(user, { mfa_code: "00000000" }), 401, "invalid_mfa_code");
  });
});

describe("disable", () => {
  it("turns MFA off with a current code and ends the user's other sessions", async () => {
    const user = await enrollMfa(await newUser());
    const other = (await login(user, { mfa_code: await totpCode(user.secret) })).json.token;
    nextStep();
    const disabled = await call("POST", "/api/v1/mfa/disable", {
      token: user.token,
      body: { code: await totpCode(user.secret) },
    });
    expect(disabled.status).toBe(200);
    expect(disabled.json).toEqual({ mfa_enabled: false });
    expectError(await call("GET", "/api/v1/auth/me", { token: other }), 401, "unauthorized");
    expect((await call("GET", "/api/v1/auth/me", { token: user.token })).status).toBe(200);
    // Login needs no code any more, and the old backup codes are gone.
    expect((await login(user)).json.token).toBeTypeOf("string");
    const rows = await env.DB.prepare("select count(*) as n from backup_codes where user_id = ?")
      .bind(user.user.id)
      .first();
    expect(rows?.n).toBe(0);
  });

  it("accepts an unused backup code (a lost device)", async () => {
    const user = await enrollMfa(await newUser());
    const session = await login(user, { mfa_code: user.backupCodes[0] });
    const disabled = await call("POST", "/api/v1/mfa/disable", {
      token: session.json.token,
      body: { code: user.backupCodes[1] },
    });
    expect(disabled.status).toBe(200);
  });

  it("is refused without a fresh code", async () => {
    const user = await enrollMfa(await newUser());
    expectError(
      await call("POST", "/api/v1/mfa/disable", { token: user.token, body: {} }),
      400,
      "invalid_request",
    );
    expectError(
      await call("POST", "/api/v1/mfa/disable", { token: user.token, body: { code: "" } }),
      401,
      "invalid_mfa_code",
    );
    expect((await call("GET", "/api/v1/mfa/status", { token: user.token })).json.mfa_enabled).toBe(true);
  });
});

describe("backup code regeneration", () => {
  it("replaces every code; the old ones stop working", async () => {
    const user = await enrollMfa(await newUser());
    const response = await call("POST", "/api/v1/mfa/backup-codes", {
      token: user.token,
      body: { code: await totpCode(user.secret) },
    });
    expect(response.status).toBe(200);
    const fresh: string[] = response.json.backup_codes;
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => user.backupCodes.includes(c))).toBe(false);
    expectError(await login(user, { mfa_code: user.backupCodes[5] }), 401, "invalid_mfa_code");
    expect((await login(user, { mfa_code: fresh[5] })).status).toBe(200);
  });

  it("is refused without a fresh code", async () => {
    const user = await enrollMfa(await newUser());
    expectError(
      await call("POST", "/api/v1/mfa/backup-codes", { token: user.token, body: { code: "000000" } }),
      401,
      "invalid_mfa_code",
    );
    expectError(await login(user, { mfa_code: "11111111" }), 401, "invalid_mfa_code");
    expect((await login(user, { mfa_code: user.backupCodes[0] })).status).toBe(200);
  });
});

describe("moving to a new device", () => {
  it("needs a current code, keeps the old secret working until verify, then swaps and ends other sessions", async () => {
    const user = await enrollMfa(await newUser());
    const other = (await login(user, { mfa_code: user.backupCodes[0] })).json.token;
    expectError(await call("POST", setupPath, { token: user.token }), 401, "invalid_mfa_code");
    const setup = await call("POST", setupPath, {
      token: user.token,
      body: { code: await totpCode(user.secret) },
    });
    expect(setup.status).toBe(200);
    nextStep();
    // Still protected by the old device until the new one is verified.
    const meanwhile = await login(user, { mfa_code: await totpCode(user.secret) });
    expect(meanwhile.status).toBe(200);
    const verify = await call("POST", verifyPath, {
      token: user.token,
      body: { code: await totpCode(setup.json.secret) },
    });
    expect(verify.status).toBe(200);
    nextStep();
    expectError(await login(user, { mfa_code: await totpCode(user.secret) }), 401, "invalid_mfa_code");
    expect((await login(user, { mfa_code: await totpCode(setup.json.secret) })).status).toBe(200);
    // The old backup codes went with the old device; the sessions opened before ended.
    expectError(await login(user, { mfa_code: user.backupCodes[1] }), 401, "invalid_mfa_code");
    expectError(await call("GET", "/api/v1/auth/me", { token: other }), 401, "unauthorized");
    expectError(await call("GET", "/api/v1/auth/me", { token: meanwhile.json.token }), 401, "unauthorized");
    expect((await call("GET", "/api/v1/auth/me", { token: user.token })).status).toBe(200);
  });
});

describe("audit", () => {
  it("records enable, backup-code use, regeneration and disable with actor, target, IP and time", async () => {
    const user = await enrollMfa(await newUser());
    const headers = { "cf-connecting-ip": "203.0.113.9" };
    const session = await login(user, { mfa_code: user.backupCodes[0] }, headers);
    await call("POST", "/api/v1/mfa/backup-codes", {
      token: session.json.token,
      body: { code: await totpCode(user.secret) },
      headers,
    });
    nextStep();
    await call("POST", "/api/v1/mfa/disable", {
      token: session.json.token,
      body: { code: await totpCode(user.secret) },
      headers,
    });
    const { results } = await env.DB.prepare(
      "select action, actor_id, target_id, ip, at, details from audit_events where target_id = ? order by at, action",
    )
      .bind(user.user.id)
      .all();
    expect(results.map((r) => r.action)).toEqual([
      "mfa.enabled",
      "mfa.backup_code_used",
      "mfa.backup_codes_regenerated",
      "mfa.disabled",
    ]);
    for (const row of results) {
      expect(row.actor_id).toBe(user.user.id);
      expect(row.at).toBeTypeOf("number");
    }
    expect(results.slice(1).every((r) => r.ip === "203.0.113.9")).toBe(true);
    expect(JSON.parse(String(results[1]?.details))).toEqual({ remaining: 9 });
  });
});

describe("enrollment token", () => {
  it("opens setup and verify only, and verify turns it into a full session", async () => {
    const user = await newUser();
    const enrollment = await prepareSession("enrollment", user.user, TEST_CLIENT, config.sessionSigningKey);
    await db.insert(sessions).values(enrollment.row);
    const token = enrollment.token;
    for (const [method, path] of [
      ["GET", "/api/v1/auth/me"],
      ["GET", "/api/v1/mfa/status"],
      ["POST", "/api/v1/mfa/disable"],
      ["POST", "/api/v1/mfa/backup-codes"],
      ["GET", `/api/v1/tenants/${user.tenantId}/users`],
    ] as const) {
      expectError(
        await call(method, path, { token, body: method === "POST" ? { code: "123456" } : undefined }),
        401,
        "unauthorized",
      );
    }
    const setup = await call("POST", setupPath, { token });
    expect(setup.status).toBe(200);
    const verify = await call("POST", verifyPath, {
      token,
      body: { code: await totpCode(setup.json.secret) },
    });
    expect(verify.status).toBe(200);
    expect(verify.json).toMatchObject({
      mfa_enabled: true,
      token: expect.any(String),
      user: { id: user.user.id, mfa_enabled: true },
    });
    expect((await call("GET", "/api/v1/auth/me", { token: verify.json.token })).status).toBe(200);
    // The enrollment token is spent.
    expectError(await call("POST", setupPath, { token }), 401, "unauthorized");
  });
});
